// Display names (display_name.h): strict UTF-8, Unicode categories and NFC from ICU.
#include "soc/display_name.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace cg::soc {
namespace {

Error Invalid(const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, "display name " + why);
}

std::string CodeName(UChar32 c) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(c));
  return buffer;
}

// What no name people must read alike may hold: controls, formatting and other invisible
// characters (bidirectional overrides reorder what follows them, zero-width ones hide
// differences), separators that break lines, private-use and unassigned code points.
bool IsRefused(UChar32 c) {
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
    case U_UNASSIGNED:
      return true;
    default:
      return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) != 0;
  }
}

bool IsMark(UChar32 c) {
  const int8_t type = u_charType(c);
  return type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK || type == U_COMBINING_SPACING_MARK;
}

}  // namespace

Result<std::string> NormalizeDisplayName(std::string_view text) {
  if (text.size() > 4 * kMaxDisplayNameBytes) {
    return Invalid("is longer than " + std::to_string(kMaxDisplayNameBytes) + " bytes");
  }
  // UTF-16 for ICU; u_strFromUTF8 refuses ill-formed UTF-8 (overlong forms, surrogates, bytes
  // cut short) with U_INVALID_CHAR_FOUND.
  UErrorCode status = U_ZERO_ERROR;
  std::u16string utf16(text.size() + 1, u'\0');
  int32_t utf16_len = 0;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &utf16_len, text.data(),
                static_cast<int32_t>(text.size()), &status);
  if (U_FAILURE(status)) {
    return Invalid("is not valid UTF-8");
  }
  utf16.resize(static_cast<size_t>(utf16_len));
  for (int32_t i = 0; i < utf16_len;) {
    UChar32 c = 0;
    U16_NEXT(utf16.data(), i, utf16_len, c);
    if (IsRefused(c)) {
      return Invalid("has a control, formatting or invisible character (" + CodeName(c) + ")");
    }
  }
  const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal,
                     std::string("ICU NFC unavailable: ") + u_errorName(status));
  }
  // NFC never more than triples the length (UAX #15).
  std::u16string normalized(static_cast<size_t>(utf16_len) * 3 + 1, u'\0');
  const int32_t nfc_len = unorm2_normalize(nfc, utf16.data(), utf16_len, normalized.data(),
                                           static_cast<int32_t>(normalized.size()), &status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal,
                     std::string("NFC normalization: ") + u_errorName(status));
  }
  normalized.resize(static_cast<size_t>(nfc_len));
  // White space at the ends goes (a name pasted from a table keeps some).
  int32_t begin = 0;
  int32_t end = nfc_len;
  while (begin < end) {
    int32_t next = begin;
    UChar32 c = 0;
    U16_NEXT(normalized.data(), next, end, c);
    if (!u_isUWhiteSpace(c)) {
      break;
    }
    begin = next;
  }
  while (end > begin) {
    int32_t prev = end;
    UChar32 c = 0;
    U16_PREV(normalized.data(), begin, prev, c);
    if (!u_isUWhiteSpace(c)) {
      break;
    }
    end = prev;
  }
  if (begin == end) {
    return Invalid("is empty");
  }
  size_t chars = 0;
  bool after_letter = false;
  for (int32_t i = begin; i < end;) {
    UChar32 c = 0;
    U16_NEXT(normalized.data(), i, end, c);
    if (IsMark(c) && !after_letter) {
      return Invalid("has a combining mark (" + CodeName(c) + ") with no letter before it");
    }
    after_letter = !u_isUWhiteSpace(c);
    ++chars;
  }
  if (chars > kMaxDisplayNameChars) {
    return Invalid("is longer than " + std::to_string(kMaxDisplayNameChars) + " characters");
  }
  std::string out(static_cast<size_t>(end - begin) * 3, '\0');
  int32_t out_len = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &out_len, normalized.data() + begin,
              end - begin, &status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal, "UTF-16 to UTF-8");
  }
  out.resize(static_cast<size_t>(out_len));
  if (out.size() > kMaxDisplayNameBytes) {
    return Invalid("is longer than " + std::to_string(kMaxDisplayNameBytes) + " bytes");
  }
  return out;
}

}  // namespace cg::soc
