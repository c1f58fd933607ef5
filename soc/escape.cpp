// Escaping of control characters for storage and display (see escape.h).
#include "soc/escape.h"

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

namespace cg::soc {
namespace {

// Length of the UTF-8 sequence at text[i] and its code point; 0 when it is not valid UTF-8.
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  // Overlong forms and surrogates are not valid UTF-8.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return len;
}

bool IsControl(uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool HasControlCharacters(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, cp);
    if (len == 0 || IsControl(cp)) {
      return true;
    }
    i += len;
  }
  return false;
}

std::string EscapeControlCharacters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char buf[16];
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, cp);
    if (len == 0) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
      continue;
    }
    if (IsControl(cp)) {
      if (cp < 0x80) {
        std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

size_t EscapeControlCharactersInJson(nlohmann::json& value) {
  size_t changed = 0;
  if (value.is_string()) {
    auto& s = value.get_ref<std::string&>();
    if (HasControlCharacters(s)) {
      s = EscapeControlCharacters(s);
      ++changed;
    }
  } else if (value.is_array()) {
    for (auto& element : value) {
      changed += EscapeControlCharactersInJson(element);
    }
  } else if (value.is_object()) {
    nlohmann::json rebuilt = nlohmann::json::object();
    bool keys_changed = false;
    for (auto& [key, element] : value.items()) {
      changed += EscapeControlCharactersInJson(element);
      if (HasControlCharacters(key)) {
        keys_changed = true;
        ++changed;
      }
    }
    if (keys_changed) {
      for (auto& [key, element] : value.items()) {
        rebuilt[EscapeControlCharacters(key)] = std::move(element);
      }
      value = std::move(rebuilt);
    }
  }
  return changed;
}

}  // namespace cg::soc
