// Tests soc/auth/base32.cpp against RFC 4648 section 10 and the leniency people need.
#include "soc/auth/base32.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::soc::auth {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// RFC 4648 section 10 "Test Vectors", BASE32 rows, with the '=' padding removed for encoding.
struct Vector {
  const char* plain;
  const char* padded;
  const char* unpadded;
};
constexpr Vector kRfc4648[] = {
    {"", "", ""},
    {"f", "MY======", "MY"},
    {"fo", "MZXQ====", "MZXQ"},
    {"foo", "MZXW6===", "MZXW6"},
    {"foob", "MZXW6YQ=", "MZXW6YQ"},
    {"fooba", "MZXW6YTB", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"},
};

TEST(Base32Test, Rfc4648VectorsEncodeWithoutPadding) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(Base32Encode(B(v.plain)), v.unpadded) << v.plain;
  }
}

TEST(Base32Test, Rfc4648VectorsDecodeWithAndWithoutPadding) {
  for (const Vector& v : kRfc4648) {
    auto padded = Base32Decode(v.padded);
    ASSERT_TRUE(padded.ok()) << v.padded;
    EXPECT_EQ(*padded, B(v.plain));
    auto unpadded = Base32Decode(v.unpadded);
    ASSERT_TRUE(unpadded.ok()) << v.unpadded;
    EXPECT_EQ(*unpadded, B(v.plain));
  }
}

TEST(Base32Test, DecodeIgnoresCaseAndSpaces) {
  // How apps display a secret: lower case in groups of four.
  auto r = Base32Decode("mzxw 6ytb oi");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, B("foobar"));
  auto tabs = Base32Decode("\tMzXw6YtBoI ");
  ASSERT_TRUE(tabs.ok());
  EXPECT_EQ(*tabs, B("foobar"));
}

TEST(Base32Test, DecodeRefusesWhatNoEncoderProduces) {
  for (const char* bad : {"M", "MZX", "MZXW6Y", "MZ1Q", "MZ0Q", "MZ8Q", "MZ-Q", "MY==MZXQ",
                          "MZXW6YTB\n", "MZ\xc3\xa1Q"}) {
    auto r = Base32Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kParse);
    }
  }
}

TEST(Base32Test, RoundTripsEveryLengthAndByteValue) {
  Bytes data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<uint8_t>((i * 37 + 11) & 0xFF));
    auto back = Base32Decode(Base32Encode(data));
    ASSERT_TRUE(back.ok()) << i;
    ASSERT_EQ(*back, data) << i;
  }
}

}  // namespace
}  // namespace cg::soc::auth
