// Authenticator enrolment: the otpauth:// URI of a TOTP secret (Google Authenticator's Key Uri
// Format, which every app reads) and its QR code (libqrencode, error correction level M),
// drawn as SVG for the dashboard and as Unicode half blocks for cgctl in a terminal.
// The URI and the QR code contain the secret: show them once, never log them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "soc/auth/random.h"
#include "soc/auth/totp.h"

namespace cg::soc::auth {

// RFC 3986 percent-encoding of UTF-8 text: unreserved characters (A-Z a-z 0-9 - . _ ~) as
// they are, every other byte as %XX (upper-case hex). "Trần Thị Bình" ->
// "Tr%E1%BA%A7n%20Th%E1%BB%8B%20B%C3%ACnh".
std::string PercentEncode(std::string_view utf8);

// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// Issuer and account are UTF-8 (Vietnamese names welcome), not empty, at most 128 bytes, and
// may not contain ':' (the label's separator; the Key Uri Format forbids it) or control
// characters. The secret is 16..64 bytes.
Result<std::string> OtpauthUri(std::string_view issuer, std::string_view account,
                               const Bytes& secret, const TotpParams& params = {});

// A QR code as modules: dark(x, y) for 0 <= x, y < width. No quiet zone included.
struct QrMatrix {
  int version = 0;               // 1..40
  int width = 0;                 // 17 + 4 * version
  std::vector<uint8_t> modules;  // row-major, 1 = dark
  bool dark(int x, int y) const {
    return modules[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)] !=
           0;
  }
};

// Error correction level M (15 % of the code may be damaged), byte mode, the smallest version
// that fits. An error for text with a NUL byte or too long for version 40.
Result<QrMatrix> EncodeQr(std::string_view text);

// The 4-module quiet zone the QR specification asks for, both renderers.
constexpr int kQrQuietZone = 4;

// A standalone SVG: one white rect and one black path (a run of dark modules per subpath,
// "M<x> <y>h<n>v1h-<n>z", in module units), crisp edges, `module_px` pixels per module. No
// script, no style element: it can be inlined under a strict Content-Security-Policy.
std::string RenderQrSvg(const QrMatrix& qr, int module_px = 4);

// Two module rows per text line with U+2580/U+2584/U+2588 (upper half, lower half, full block)
// and spaces, each line ending in '\n'. `light_on_dark` (the default, like `qrencode -t UTF8`)
// draws the light modules, for the usual terminal with light text on a dark background;
// false draws the dark modules, for a dark-on-light terminal.
std::string RenderQrTerminal(const QrMatrix& qr, bool light_on_dark = true);

}  // namespace cg::soc::auth
