// Reader for GVDB files (the GVariant database), the on-disk format of dconf databases:
// a user's ~/.config/dconf/user and the compiled system databases /etc/dconf/db/<name>.
// Written from the format description; every offset is bounds-checked, so a truncated or
// hostile file is an Error, never a crash or an out-of-range read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace cg::collectors {

// A GVariant value of a basic type (b y n q i u x t h d s o g). Values of other types keep their
// type string and no decoded data: the screen-lock keys are all basic.
struct GVariantValue {
  std::string type;  // GVariant type string: "u", "b", "as", ...
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string> data;

  bool IsBool() const { return type == "b" && std::holds_alternative<bool>(data); }
  bool IsUint32() const { return type == "u" && std::holds_alternative<uint64_t>(data); }
  // GVariant text form, as `dconf read` prints it: "uint32 300", "true", "'text'".
  std::string ToText() const;

  bool operator==(const GVariantValue&) const = default;
};

GVariantValue MakeBool(bool v);
GVariantValue MakeUint32(uint32_t v);

// Parses the GVariant text format for basic values as dconf keyfiles carry them:
// "uint32 300", "300" (an int32, as g_variant_parse types a bare integer), "true",
// "'text'", "@u 300", "0x1f". Containers and anything else are kParse.
Result<GVariantValue> ParseGVariantText(std::string_view text);

// One hash table of a GVDB file (the root table, or a nested one such as dconf's ".locks").
// Cheap to copy: tables share the file's bytes.
class GvdbTable {
 public:
  // Validates the header and the structure of the root table (every item's name, parent chain
  // and value pointer must lie inside the file).
  static Result<GvdbTable> Open(std::string bytes);

  // The value stored under the full key ("/org/gnome/desktop/session/idle-delay"); nullopt
  // when the table has no such value. kParse when the value itself is malformed.
  Result<std::optional<GVariantValue>> GetValue(std::string_view key) const;
  // The nested table stored under `key` (dconf keeps its locks under ".locks").
  Result<std::optional<GvdbTable>> GetTable(std::string_view key) const;
  // True when the table has a value item under `key`, whatever the value holds (how dconf
  // tests its lock tables).
  bool HasValue(std::string_view key) const { return Find(key, 'v').has_value(); }
  // Full names of the table's value items ('v'), in item order.
  std::vector<std::string> ValueNames() const;

  // True when the file's values are big-endian (written by a big-endian host or swapped).
  bool byteswapped() const { return byteswapped_; }

 private:
  struct Item {
    uint32_t hash = 0;
    uint32_t parent = 0;
    uint32_t key_start = 0;
    uint16_t key_size = 0;
    char type = 0;
    uint32_t value_start = 0;
    uint32_t value_end = 0;
  };

  GvdbTable() = default;
  static Result<GvdbTable> OpenAt(std::shared_ptr<const std::string> file, bool byteswapped,
                                  uint32_t start, uint32_t end);
  Item ItemAt(uint32_t index) const;
  std::string_view ItemKey(const Item& item) const;
  bool NameMatches(uint32_t index, std::string_view key) const;
  std::optional<uint32_t> Find(std::string_view key, char type) const;
  std::string FullName(uint32_t index) const;

  std::shared_ptr<const std::string> file_;
  bool byteswapped_ = false;
  uint32_t bloom_offset_ = 0;
  uint32_t n_bloom_words_ = 0;
  uint32_t bloom_shift_ = 0;
  uint32_t buckets_offset_ = 0;
  uint32_t n_buckets_ = 0;
  uint32_t items_offset_ = 0;
  uint32_t n_items_ = 0;
};

// Decodes a serialized GVariant of type "v" (a variant: the child's bytes, a zero byte, the
// child's type string), as GVDB stores every value. `big_endian` is the file's value order.
Result<GVariantValue> DecodeVariant(std::string_view bytes, bool big_endian);

}  // namespace cg::collectors
