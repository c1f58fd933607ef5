// otpauth:// URIs and QR codes; see otpauth.h.
#include "soc/auth/otpauth.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

#include "soc/auth/base32.h"
#include "soc/auth/password_hasher.h"

namespace cg::soc::auth {
namespace {

struct QrCodeDeleter {
  void operator()(QRcode* qr) const { QRcode_free(qr); }
};

Status CheckLabelPart(std::string_view text, std::string_view what) {
  std::string name(what);
  if (text.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "otpauth: " + name + " is empty");
  }
  if (text.size() > 128) {
    return MakeError(ErrorCode::kInvalidArgument, "otpauth: " + name + " is too long");
  }
  for (char c : text) {
    if (c == ':') {
      return MakeError(ErrorCode::kInvalidArgument, "otpauth: " + name + " may not contain ':'");
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "otpauth: " + name + " contains a control character");
    }
  }
  Result<size_t> utf8 = Utf8Length(text);
  if (!utf8.ok()) {
    return utf8.error().Wrap("otpauth: " + name);
  }
  return OkStatus();
}

}  // namespace

std::string PercentEncode(std::string_view utf8) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : utf8) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

Result<std::string> OtpauthUri(std::string_view issuer, std::string_view account,
                               const Bytes& secret, const TotpParams& params) {
  CG_RETURN_IF_ERROR(CheckLabelPart(issuer, "issuer"));
  CG_RETURN_IF_ERROR(CheckLabelPart(account, "account"));
  CG_RETURN_IF_ERROR(ValidateTotpParams(params));
  if (secret.size() < 16 || secret.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "otpauth: the secret must be 16..64 bytes");
  }
  std::string issuer_enc = PercentEncode(issuer);
  return "otpauth://totp/" + issuer_enc + ":" + PercentEncode(account) +
         "?secret=" + Base32Encode(secret) + "&issuer=" + issuer_enc +
         "&algorithm=" + TotpAlgorithmName(params.algorithm) +
         "&digits=" + std::to_string(params.digits) +
         "&period=" + std::to_string(params.period_seconds);
}

Result<QrMatrix> EncodeQr(std::string_view text) {
  if (text.empty() || text.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "qr: text is empty or contains NUL");
  }
  std::string z(text);
  errno = 0;
  std::unique_ptr<QRcode, QrCodeDeleter> qr(
      QRcode_encodeString(z.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!qr) {
    if (errno == ERANGE) {
      return MakeError(ErrorCode::kTooLarge, "qr: text too long for a QR code");
    }
    return ErrnoError("qr: QRcode_encodeString");
  }
  QrMatrix out;
  out.version = qr->version;
  out.width = qr->width;
  size_t n = static_cast<size_t>(qr->width) * static_cast<size_t>(qr->width);
  out.modules.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out.modules[i] = qr->data[i] & 1;  // bit 0: dark; the other bits say what the module is
  }
  return out;
}

std::string RenderQrSvg(const QrMatrix& qr, int module_px) {
  int size = qr.width + 2 * kQrQuietZone;
  std::string px = std::to_string(size * module_px);
  std::string n = std::to_string(size);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n +
                    "\" width=\"" + px + "\" height=\"" + px +
                    "\" shape-rendering=\"crispEdges\">"
                    "<rect width=\"" +
                    n + "\" height=\"" + n + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  for (int y = 0; y < qr.width; ++y) {
    int x = 0;
    while (x < qr.width) {
      if (!qr.dark(x, y)) {
        ++x;
        continue;
      }
      int start = x;
      while (x < qr.width && qr.dark(x, y)) {
        ++x;
      }
      std::string run = std::to_string(x - start);
      out += "M" + std::to_string(start + kQrQuietZone) + " " + std::to_string(y + kQrQuietZone) +
             "h" + run + "v1h-" + run + "z";
    }
  }
  out += "\"/></svg>\n";
  return out;
}

std::string RenderQrTerminal(const QrMatrix& qr, bool light_on_dark) {
  int size = qr.width + 2 * kQrQuietZone;
  // Inked = drawn with a block character.
  auto inked = [&](int x, int y) {
    int mx = x - kQrQuietZone;
    int my = y - kQrQuietZone;
    bool dark = mx >= 0 && my >= 0 && mx < qr.width && my < qr.width && qr.dark(mx, my);
    return light_on_dark ? !dark : dark;
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      bool top = inked(x, y);
      bool bottom = y + 1 < size && inked(x, y + 1);
      if (top && bottom) {
        out += "\u2588";
      } else if (top) {
        out += "\u2580";
      } else if (bottom) {
        out += "\u2584";
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace cg::soc::auth
