// Search folding (see text_fold.h) with ICU: NFD, drop marks, fold case, keep letters and digits.
#include "soc/text_fold.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <vector>

namespace cg::soc {

std::string FoldForSearch(std::string_view text) {
  // UTF-8 -> UTF-16, dropping invalid bytes (U+FFFD would otherwise be kept as a "letter").
  std::vector<UChar> utf16;
  utf16.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 cp = 0;
    U8_NEXT(s, i, length, cp);
    if (cp < 0) {
      continue;
    }
    if (U_IS_BMP(cp)) {
      utf16.push_back(static_cast<UChar>(cp));
    } else {
      utf16.push_back(U16_LEAD(cp));
      utf16.push_back(U16_TRAIL(cp));
    }
  }
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
  std::vector<UChar> decomposed(utf16.size() * 4 + 16);
  int32_t n = 0;
  if (U_SUCCESS(status)) {
    n = unorm2_normalize(nfd, utf16.data(), static_cast<int32_t>(utf16.size()), decomposed.data(),
                         static_cast<int32_t>(decomposed.size()), &status);
  }
  if (U_FAILURE(status)) {
    // NFD never grows text more than 4 times in practice; if ICU still fails, fold the
    // composed text (marks that do not decompose are then kept, never lost silently).
    decomposed = utf16;
    n = static_cast<int32_t>(utf16.size());
  }
  std::string out;
  out.reserve(text.size());
  for (int32_t i = 0; i < n;) {
    UChar32 cp = 0;
    U16_NEXT(decomposed.data(), i, n, cp);
    if (cp == 0x0110 || cp == 0x0111) {  // Đ đ: a letter of its own, without a decomposition
      cp = 'd';
    }
    if (!u_isalnum(cp)) {
      continue;  // marks, separators, punctuation, symbols
    }
    cp = u_foldCase(cp, U_FOLD_CASE_DEFAULT);
    char buf[U8_MAX_LENGTH];
    int32_t len = 0;
    UBool error = false;
    U8_APPEND(reinterpret_cast<uint8_t*>(buf), len, U8_MAX_LENGTH, cp, error);
    if (!error) {
      out.append(buf, static_cast<size_t>(len));
    }
  }
  return out;
}

}  // namespace cg::soc
