// Search folding of names: "Bắc Hà", "BAC-HA" and "bac ha" all become "bacha". Diacritics are
// dropped (NFD, then combining marks removed; đ/Đ, which do not decompose, become d), case is
// folded, and separators (spaces, punctuation, symbols) are removed, so that an analyst typing
// on any keyboard finds a counter PC however its name was written. Stored beside the host name at
// ingest, so that the search compares stored text (and can use an index) instead of folding
// every row on every query.
#pragma once

#include <string>
#include <string_view>

namespace cg::soc {

// The folded form of UTF-8 `text` (letters and digits only, lower case, no diacritics). Invalid
// UTF-8 bytes are dropped.
std::string FoldForSearch(std::string_view text);

}  // namespace cg::soc
