// Tests soc/auth/otpauth.cpp: the Key Uri Format with Vietnamese names, the QR matrix (decoded
// back by zbarimg from Debian's zbar-tools: a real round trip), and both renderers (parsed back
// into modules and compared with the matrix).
#include "soc/auth/otpauth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "soc/auth/base32.h"

namespace cg::soc::auth {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }
const Bytes kSeed20 = B("12345678901234567890");  // base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

TEST(OtpauthUriTest, VietnameseNamesArePercentEncodedUtf8) {
  auto uri = OtpauthUri("CounterGuard Lào Cai", "trần.thị.bình", kSeed20);
  ASSERT_TRUE(uri.ok()) << uri.error().ToString();
  EXPECT_EQ(*uri,
            "otpauth://totp/CounterGuard%20L%C3%A0o%20Cai:tr%E1%BA%A7n.th%E1%BB%8B.b%C3%ACnh"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=CounterGuard%20L%C3%A0o%20Cai"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUriTest, ParsesBackToWhatWentIn) {
  const std::string issuer = "Sở TT&TT tỉnh Lào Cai";
  const std::string account = "Nguyễn Văn An+soc@laocai.gov.vn";
  TotpParams params;
  params.algorithm = TotpAlgorithm::kSha256;
  params.digits = 8;
  params.period_seconds = 60;
  auto uri = OtpauthUri(issuer, account, kSeed20, params);
  ASSERT_TRUE(uri.ok());
  std::smatch m;
  const std::regex shape(
      "otpauth://totp/([A-Za-z0-9%._~-]+):([A-Za-z0-9%._~-]+)\\?secret=([A-Z2-7]+)"
      "&issuer=([A-Za-z0-9%._~-]+)&algorithm=(SHA1|SHA256|SHA512)&digits=(\\d)&period=(\\d+)");
  ASSERT_TRUE(std::regex_match(*uri, m, shape)) << *uri;
  EXPECT_EQ(PercentDecode(m[1].str()), issuer);
  EXPECT_EQ(PercentDecode(m[2].str()), account);
  EXPECT_EQ(Base32Decode(m[3].str()).value(), kSeed20);
  EXPECT_EQ(PercentDecode(m[4].str()), issuer);
  EXPECT_EQ(m[5].str(), "SHA256");
  EXPECT_EQ(m[6].str(), "8");
  EXPECT_EQ(m[7].str(), "60");
}

TEST(OtpauthUriTest, PercentEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode(" :/?#[]@!$&'()*+,;=%"),
            "%20%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25");
  EXPECT_EQ(PercentEncode("đ"), "%C4%91");
}

TEST(OtpauthUriTest, RefusesLabelsAndSecretsItCannotEncodeFaithfully) {
  struct Case {
    std::string issuer;
    std::string account;
    size_t secret_bytes;
  };
  const Case bad[] = {
      {"", "an", 20},
      {"CG", "", 20},
      {"CG:SOC", "an", 20},
      {"CG", "an:b", 20},
      {"CG", "an\nb", 20},
      {"CG", "an\xff", 20},
      {"CG", std::string(129, 'a'), 20},
      {"CG", "an", 10},
      {"CG", "an", 65},
  };
  for (const Case& c : bad) {
    auto uri = OtpauthUri(c.issuer, c.account, Bytes(c.secret_bytes, 7));
    ASSERT_FALSE(uri.ok()) << c.issuer << " / " << c.account;
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(OtpauthUri("CG", std::string(128, 'a'), Bytes(16, 7)).ok());
}

// ISO/IEC 18004:2015 table 7, byte-mode capacity at error correction level M, versions 1-10.
constexpr int kByteCapacityM[] = {14, 26, 42, 62, 84, 106, 122, 152, 180, 213};

int SmallestVersionM(size_t bytes) {
  for (int v = 1; v <= 10; ++v) {
    if (bytes <= static_cast<size_t>(kByteCapacityM[v - 1])) {
      return v;
    }
  }
  return -1;
}

// A finder pattern: 7x7 dark ring, light ring, 3x3 dark centre, with its top-left at (x, y).
void ExpectFinder(const QrMatrix& qr, int x0, int y0) {
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 7; ++x) {
      bool ring = x == 0 || y == 0 || x == 6 || y == 6;
      bool centre = x >= 2 && x <= 4 && y >= 2 && y <= 4;
      EXPECT_EQ(qr.dark(x0 + x, y0 + y), ring || centre) << x0 + x << "," << y0 + y;
    }
  }
}

TEST(QrTest, VersionAndSizeFollowTheLengthAtLevelM) {
  for (size_t len : {1, 14, 15, 26, 27, 106, 107, 122, 123, 152, 153}) {
    auto qr = EncodeQr(std::string(len, 'a'));
    ASSERT_TRUE(qr.ok()) << len;
    EXPECT_EQ(qr->version, SmallestVersionM(len)) << len;
    EXPECT_EQ(qr->width, 17 + 4 * qr->version);
    EXPECT_EQ(qr->modules.size(), static_cast<size_t>(qr->width * qr->width));
    ExpectFinder(*qr, 0, 0);
    ExpectFinder(*qr, qr->width - 7, 0);
    ExpectFinder(*qr, 0, qr->width - 7);
  }
  EXPECT_FALSE(EncodeQr("").ok());
  EXPECT_FALSE(EncodeQr(std::string("a\0b", 3)).ok());
  auto huge = EncodeQr(std::string(5000, 'a'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kTooLarge);
}

std::string RunZbarimg(const std::string& path) {
  std::string cmd = "zbarimg --raw -q '" + path + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return "<popen failed>";
  }
  std::string out;
  char buf[512];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

// Draws modules (dark = 0) into a binary PGM, 4 pixels per module.
void WritePgm(const std::string& path, const std::vector<std::vector<bool>>& dark) {
  const int scale = 4;
  int h = static_cast<int>(dark.size());
  int w = static_cast<int>(dark[0].size());
  std::ofstream f(path, std::ios::binary);
  f << "P5\n" << w * scale << " " << h * scale << "\n255\n";
  for (int y = 0; y < h * scale; ++y) {
    for (int x = 0; x < w * scale; ++x) {
      f.put(dark[y / scale][x / scale] ? static_cast<char>(0) : static_cast<char>(255));
    }
  }
}

std::vector<std::vector<bool>> WithQuietZone(const QrMatrix& qr) {
  int size = qr.width + 2 * kQrQuietZone;
  std::vector<std::vector<bool>> grid(size, std::vector<bool>(size, false));
  for (int y = 0; y < qr.width; ++y) {
    for (int x = 0; x < qr.width; ++x) {
      grid[y + kQrQuietZone][x + kQrQuietZone] = qr.dark(x, y);
    }
  }
  return grid;
}

const std::string kVietnameseUri =
    OtpauthUri("CounterGuard Lào Cai", "trần.thị.bình", kSeed20).value();

TEST(QrTest, ZbarimgDecodesTheMatrixBackToTheUri) {
  auto qr = EncodeQr(kVietnameseUri);
  ASSERT_TRUE(qr.ok());
  EXPECT_EQ(qr->version, SmallestVersionM(kVietnameseUri.size()));
  std::string path = ::testing::TempDir() + "/cg_otpauth_qr.pgm";
  WritePgm(path, WithQuietZone(*qr));
  EXPECT_EQ(RunZbarimg(path), kVietnameseUri)
      << "zbarimg (Debian zbar-tools, in CG_PACKAGES) must decode the code";
  std::remove(path.c_str());
}

// Parses RenderQrSvg's path back into a grid of the SVG's size.
std::vector<std::vector<bool>> ParseSvg(const std::string& svg, int* size) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(svg, m, std::regex("viewBox=\"0 0 (\\d+) (\\d+)\"")));
  *size = std::stoi(m[1].str());
  EXPECT_EQ(m[1].str(), m[2].str());
  std::vector<std::vector<bool>> grid(*size, std::vector<bool>(*size, false));
  EXPECT_TRUE(std::regex_search(svg, m, std::regex(" d=\"([^\"]*)\"")));
  std::string d = m[1].str();
  const std::regex run("M(\\d+) (\\d+)h(\\d+)v1h-(\\d+)z");
  size_t covered = 0;
  for (auto it = std::sregex_iterator(d.begin(), d.end(), run); it != std::sregex_iterator();
       ++it) {
    int x = std::stoi((*it)[1].str());
    int y = std::stoi((*it)[2].str());
    int n = std::stoi((*it)[3].str());
    EXPECT_EQ(n, std::stoi((*it)[4].str()));
    for (int k = 0; k < n; ++k) {
      grid[y][x + k] = true;
    }
    covered += static_cast<size_t>(it->length());
  }
  EXPECT_EQ(covered, d.size()) << "the path has only runs";
  return grid;
}

TEST(QrTest, SvgDrawsExactlyTheMatrixWithAQuietZone) {
  auto qr = EncodeQr(kVietnameseUri);
  ASSERT_TRUE(qr.ok());
  std::string svg = RenderQrSvg(*qr, 5);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("style"), std::string::npos);
  int size = 0;
  auto grid = ParseSvg(svg, &size);
  EXPECT_EQ(size, qr->width + 8);
  std::string px = std::to_string(size * 5);
  EXPECT_NE(svg.find("width=\"" + px + "\" height=\"" + px + "\""), std::string::npos);
  EXPECT_EQ(grid, WithQuietZone(*qr));
  // And what the SVG draws is a code zbarimg reads.
  std::string path = ::testing::TempDir() + "/cg_otpauth_svg.pgm";
  WritePgm(path, grid);
  EXPECT_EQ(RunZbarimg(path), kVietnameseUri);
  std::remove(path.c_str());
}

// Parses RenderQrTerminal's text back: returns the grid of inked cells.
std::vector<std::vector<bool>> ParseTerminal(const std::string& text, int size) {
  const std::map<std::string, std::pair<bool, bool>> cells = {
      {" ", {false, false}},
      {"\u2580", {true, false}},
      {"\u2584", {false, true}},
      {"\u2588", {true, true}},
  };
  std::vector<std::vector<bool>> grid(size, std::vector<bool>(size, false));
  int row = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "every line ends in a newline";
    if (nl == std::string::npos) {
      break;
    }
    std::string line = text.substr(pos, nl - pos);
    int col = 0;
    size_t i = 0;
    while (i < line.size()) {
      size_t len = line[i] == ' ' ? 1 : 3;
      auto it = cells.find(line.substr(i, len));
      EXPECT_NE(it, cells.end()) << "unexpected character in line " << row;
      if (it == cells.end() || col >= size) {
        return grid;
      }
      grid[row][col] = it->second.first;
      if (row + 1 < size) {
        grid[row + 1][col] = it->second.second;
      } else {
        EXPECT_FALSE(it->second.second) << "nothing below the last row";
      }
      ++col;
      i += len;
    }
    EXPECT_EQ(col, size) << "line " << row;
    row += 2;
    pos = nl + 1;
  }
  EXPECT_EQ(row, size + (size % 2));
  return grid;
}

TEST(QrTest, TerminalTextDrawsTheMatrixTwoRowsPerLine) {
  auto qr = EncodeQr(kVietnameseUri);
  ASSERT_TRUE(qr.ok());
  int size = qr->width + 2 * kQrQuietZone;
  auto expected_dark = WithQuietZone(*qr);

  std::string dark_text = RenderQrTerminal(*qr, /*light_on_dark=*/false);
  EXPECT_EQ(ParseTerminal(dark_text, size), expected_dark);

  // The default inks the light modules: the exact complement.
  std::string light_text = RenderQrTerminal(*qr);
  auto light = ParseTerminal(light_text, size);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      ASSERT_NE(light[y][x], expected_dark[y][x]) << x << "," << y;
    }
  }
  // Round trip through zbarimg from the parsed terminal text.
  std::string path = ::testing::TempDir() + "/cg_otpauth_term.pgm";
  WritePgm(path, ParseTerminal(dark_text, size));
  EXPECT_EQ(RunZbarimg(path), kVietnameseUri);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cg::soc::auth
