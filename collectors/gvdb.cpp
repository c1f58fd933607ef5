// GVDB reader and the small part of GVariant (basic types, text and serialized forms) that
// dconf settings need.
//
// File layout (all structure fields little-endian):
//   header  (24 bytes)  "GVariant" signature, version (0), options, root pointer {start, end}
//   table   at a pointer: u32 bloom word count (low 27 bits) | bloom shift (high 5 bits),
//           u32 bucket count, the bloom words, the buckets (index of each bucket's first item),
//           then 24-byte items up to the pointer's end
//   item    u32 hash, u32 parent item (0xffffffff: none), u32 key start, u16 key size,
//           char type ('v' value, 'H' nested table, 'L' list), pad, pointer {start, end}
// An item's key is only the last part of its name: the full name is its parents' keys followed
// by its own. Values are serialized GVariants of type "v", in the byte order the signature
// announces ("GVariant" little-endian, "raVGtnai" big-endian).
#include "collectors/gvdb.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/text.h"

namespace cg::collectors {
namespace {

constexpr size_t kHeaderSize = 24;
constexpr size_t kItemSize = 24;
constexpr uint32_t kNoParent = 0xffffffffu;
constexpr std::string_view kSignature = "GVariant";
constexpr std::string_view kSwappedSignature = "raVGtnai";
constexpr std::string_view kBasicTypes = "bynqiuxthdsog";

Error Corrupt(std::string message) { return MakeError(ErrorCode::kParse, std::move(message)); }

uint32_t Le32(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(s[off + i])) << (8 * i);
  }
  return v;
}

uint16_t Le16(const std::string& s, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[off]) |
                               (static_cast<unsigned char>(s[off + 1]) << 8));
}

uint64_t LoadUnsigned(std::string_view bytes, bool big_endian) {
  uint64_t v = 0;
  const size_t n = bytes.size();
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<uint64_t>(static_cast<unsigned char>(bytes[i]));
    v |= byte << (8 * (big_endian ? n - 1 - i : i));
  }
  return v;
}

int64_t SignExtend(uint64_t v, size_t bytes) {
  if (bytes >= 8) {
    return static_cast<int64_t>(v);
  }
  const uint64_t sign = uint64_t{1} << (8 * bytes - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

// djb2 over the bytes as signed chars: the hash GVDB writers store with each item.
uint32_t HashKey(std::string_view key) {
  uint32_t h = 5381;
  for (char c : key) {
    h = h * 33 + static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
  }
  return h;
}

size_t FixedSize(char type) {
  switch (type) {
    case 'b':
    case 'y':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'i':
    case 'u':
    case 'h':
      return 4;
    case 'x':
    case 't':
    case 'd':
      return 8;
    default:
      return 0;
  }
}

bool IsTypeChar(char c) {
  return kBasicTypes.find(c) != std::string_view::npos ||
         std::string_view("vam(){}*?r").find(c) != std::string_view::npos;
}

std::string QuoteString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    switch (c) {
      case '\'':
        out += "\\'";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out + "'";
}

// --- text form ---------------------------------------------------------------------------

struct TypeKeyword {
  std::string_view word;
  char type;
};
constexpr TypeKeyword kKeywords[] = {
    {"boolean", 'b'}, {"byte", 'y'},       {"int16", 'n'},     {"uint16", 'q'}, {"int32", 'i'},
    {"uint32", 'u'},  {"int64", 'x'},      {"uint64", 't'},    {"handle", 'h'}, {"double", 'd'},
    {"string", 's'},  {"objectpath", 'o'}, {"signature", 'g'},
};

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

Result<std::string> ParseQuoted(std::string_view text) {
  const char quote = text.front();
  std::string out;
  size_t i = 1;
  for (; i < text.size() && text[i] != quote; ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= text.size()) {
      break;
    }
    c = text[i];
    static constexpr std::string_view kFrom = "abfnrtv\\'\"/";
    static constexpr std::string_view kTo = "\a\b\f\n\r\t\v\\'\"/";
    if (auto k = kFrom.find(c); k != std::string_view::npos) {
      out += kTo[k];
    } else if (c == 'u' || c == 'U') {
      const size_t digits = c == 'u' ? 4 : 8;
      uint32_t cp = 0;
      const char* first = text.data() + i + 1;
      if (i + digits >= text.size() ||
          std::from_chars(first, first + digits, cp, 16).ptr != first + digits || cp > 0x10ffff) {
        return Corrupt("bad \\" + std::string(1, c) + " escape in string");
      }
      AppendUtf8(out, cp);
      i += digits;
    } else {
      return Corrupt(std::string("unknown escape \\") + c + " in string");
    }
  }
  if (i != text.size() - 1) {
    return Corrupt("unterminated or trailing text after string");
  }
  return out;
}

Result<GVariantValue> ParseNumber(std::string_view text, char type) {
  if (type == 'd' || text.find_first_of(".eE") != std::string_view::npos) {
    if (type != 0 && type != 'd') {
      return Corrupt("'" + std::string(text) + "' is not an integer");
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(d)) {
      return Corrupt("'" + std::string(text) + "' is not a number");
    }
    return GVariantValue{"d", d};
  }
  bool negative = false;
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;  // g_ascii_strtoull base 0, as the GVariant parser uses it
    digits.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Corrupt("'" + std::string(text) + "' is not a number");
  }
  const char t = type == 0 ? 'i' : type;
  struct Range {
    char type;
    int64_t min;
    uint64_t max;
  };
  static constexpr Range kRanges[] = {
      {'y', 0, 0xff},
      {'n', -32768, 32767},
      {'q', 0, 0xffff},
      {'i', std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
      {'h', std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
      {'u', 0, std::numeric_limits<uint32_t>::max()},
      {'x', std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
      {'t', 0, std::numeric_limits<uint64_t>::max()},
  };
  for (const auto& r : kRanges) {
    if (r.type != t) {
      continue;
    }
    const bool is_unsigned = t == 'y' || t == 'q' || t == 'u' || t == 't';
    if (negative) {
      const uint64_t limit = static_cast<uint64_t>(-(r.min + 1)) + 1;
      if (magnitude > limit || (is_unsigned && magnitude != 0)) {
        return Corrupt("'" + std::string(text) + "' is out of range for type " + t);
      }
      const int64_t v = magnitude == 0 ? 0 : -static_cast<int64_t>(magnitude - 1) - 1;
      if (is_unsigned) {
        return GVariantValue{std::string(1, t), uint64_t{0}};
      }
      return GVariantValue{std::string(1, t), v};
    }
    if (magnitude > r.max) {
      return Corrupt("'" + std::string(text) + "' is out of range for type " + t);
    }
    if (is_unsigned) {
      return GVariantValue{std::string(1, t), magnitude};
    }
    return GVariantValue{std::string(1, t), static_cast<int64_t>(magnitude)};
  }
  return Corrupt("'" + std::string(text) + "' is not a valid " + std::string(1, t));
}

}  // namespace

GVariantValue MakeBool(bool v) { return GVariantValue{"b", v}; }
GVariantValue MakeUint32(uint32_t v) { return GVariantValue{"u", uint64_t{v}}; }

std::string GVariantValue::ToText() const {
  if (std::holds_alternative<std::monostate>(data)) {
    return "<value of type " + type + ">";
  }
  if (const bool* b = std::get_if<bool>(&data)) {
    return *b ? "true" : "false";
  }
  if (const std::string* s = std::get_if<std::string>(&data)) {
    if (type == "o") {
      return "objectpath " + QuoteString(*s);
    }
    if (type == "g") {
      return "signature " + QuoteString(*s);
    }
    return QuoteString(*s);
  }
  if (const double* d = std::get_if<double>(&data)) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), *d);
    std::string text(buf, ec == std::errc() ? ptr : buf);
    if (text.find_first_of(".en") == std::string::npos) {
      text += ".0";
    }
    return text;
  }
  const std::string number = std::holds_alternative<int64_t>(data)
                                 ? std::to_string(std::get<int64_t>(data))
                                 : std::to_string(std::get<uint64_t>(data));
  if (type == "i") {
    return number;
  }
  for (const auto& k : kKeywords) {
    if (type.size() == 1 && k.type == type[0]) {
      return std::string(k.word) + " " + number;
    }
  }
  return number;
}

Result<GVariantValue> ParseGVariantText(std::string_view text) {
  std::string_view t = Trim(text);
  char type = 0;
  if (!t.empty() && t.front() == '@') {
    const size_t end = t.find_first_of(" \t");
    const std::string_view annotation =
        t.substr(1, end == std::string_view::npos ? t.npos : end - 1);
    if (annotation.size() != 1 || kBasicTypes.find(annotation[0]) == std::string_view::npos) {
      return Corrupt("unsupported type annotation '@" + std::string(annotation) + "'");
    }
    type = annotation[0];
    t = Trim(end == std::string_view::npos ? std::string_view() : t.substr(end));
  } else {
    for (const auto& k : kKeywords) {
      if (t.size() > k.word.size() && t.substr(0, k.word.size()) == k.word &&
          std::isspace(static_cast<unsigned char>(t[k.word.size()])) != 0) {
        type = k.type;
        t = Trim(t.substr(k.word.size()));
        break;
      }
    }
  }
  if (t.empty()) {
    return Corrupt("empty value");
  }
  if (t == "true" || t == "false") {
    if (type != 0 && type != 'b') {
      return Corrupt("'" + std::string(t) + "' is not a " + std::string(1, type));
    }
    return MakeBool(t == "true");
  }
  if (t.front() == '\'' || t.front() == '"') {
    if (type != 0 && type != 's' && type != 'o' && type != 'g') {
      return Corrupt("a string is not a " + std::string(1, type));
    }
    CG_ASSIGN_OR_RETURN(std::string s, ParseQuoted(t));
    return GVariantValue{std::string(1, type == 0 ? 's' : type), std::move(s)};
  }
  if (type == 'b' || type == 's' || type == 'o' || type == 'g') {
    return Corrupt("'" + std::string(t) + "' is not a " + std::string(1, type));
  }
  const char first = t.front();
  if (std::isdigit(static_cast<unsigned char>(first)) != 0 || first == '-' || first == '+' ||
      first == '.') {
    return ParseNumber(t, type);
  }
  return Corrupt("unsupported GVariant text '" + std::string(t) + "'");
}

Result<GVariantValue> DecodeVariant(std::string_view bytes, bool big_endian) {
  const size_t sep = bytes.rfind('\0');
  if (sep == std::string_view::npos) {
    return Corrupt("variant without a type string");
  }
  const std::string_view type = bytes.substr(sep + 1);
  const std::string_view child = bytes.substr(0, sep);
  if (type.empty() || !std::all_of(type.begin(), type.end(), IsTypeChar)) {
    return Corrupt("variant with an invalid type string");
  }
  GVariantValue v{std::string(type), std::monostate{}};
  if (type.size() != 1 || kBasicTypes.find(type[0]) == std::string_view::npos) {
    return v;  // a container: kept undecoded
  }
  const char t = type[0];
  if (const size_t size = FixedSize(t); size != 0) {
    if (child.size() != size) {
      return Corrupt("value of type " + std::string(type) + " has " + std::to_string(child.size()) +
                     " bytes, expected " + std::to_string(size));
    }
    const uint64_t raw = LoadUnsigned(child, big_endian);
    switch (t) {
      case 'b':
        if (raw > 1) {
          return Corrupt("boolean byte " + std::to_string(raw) + " is neither 0 nor 1");
        }
        v.data = raw == 1;
        break;
      case 'd': {
        double d = 0;
        static_assert(sizeof(d) == sizeof(raw));
        std::memcpy(&d, &raw, sizeof(d));
        v.data = d;
        break;
      }
      case 'n':
      case 'i':
      case 'h':
      case 'x':
        v.data = SignExtend(raw, size);
        break;
      default:
        v.data = raw;
    }
    return v;
  }
  // s, o, g: the bytes and exactly one terminating zero.
  if (child.empty() || child.back() != '\0' || child.find('\0') != child.size() - 1) {
    return Corrupt("string value is not zero-terminated exactly once");
  }
  v.data = std::string(child.substr(0, child.size() - 1));
  return v;
}

Result<GvdbTable> GvdbTable::Open(std::string bytes) {
  if (bytes.size() < kHeaderSize) {
    return Corrupt("truncated GVDB header (" + std::to_string(bytes.size()) + " bytes, need " +
                   std::to_string(kHeaderSize) + ")");
  }
  const std::string_view sig(bytes.data(), kSignature.size());
  bool swapped = false;
  if (sig == kSwappedSignature) {
    swapped = true;
  } else if (sig != kSignature) {
    return Corrupt("not a GVDB file (no GVariant signature)");
  }
  if (const uint32_t version = Le32(bytes, 8); version != 0) {
    return Corrupt("unsupported GVDB version " + std::to_string(version));
  }
  const uint32_t start = Le32(bytes, 16);
  const uint32_t end = Le32(bytes, 20);
  return OpenAt(std::make_shared<const std::string>(std::move(bytes)), swapped, start, end);
}

Result<GvdbTable> GvdbTable::OpenAt(std::shared_ptr<const std::string> file, bool byteswapped,
                                    uint32_t start, uint32_t end) {
  const std::string& f = *file;
  const uint64_t size = f.size();
  if (start > end || end > size || (start & 3u) != 0) {
    return Corrupt("hash table pointer [" + std::to_string(start) + ", " + std::to_string(end) +
                   ") outside the file (" + std::to_string(size) + " bytes) or misaligned");
  }
  if (end - start < 8) {
    return Corrupt("hash table shorter than its 8-byte header");
  }
  GvdbTable t;
  t.byteswapped_ = byteswapped;
  const uint32_t bloom_word = Le32(f, start);
  t.n_bloom_words_ = bloom_word & ((1u << 27) - 1);
  t.bloom_shift_ = bloom_word >> 27;
  t.n_buckets_ = Le32(f, start + 4);
  uint64_t off = uint64_t{start} + 8;
  if (uint64_t{t.n_bloom_words_} * 4 > end - off) {
    return Corrupt("bloom filter runs past its table");
  }
  t.bloom_offset_ = static_cast<uint32_t>(off);
  off += uint64_t{t.n_bloom_words_} * 4;
  if (uint64_t{t.n_buckets_} * 4 > end - off) {
    return Corrupt("hash buckets run past their table");
  }
  t.buckets_offset_ = static_cast<uint32_t>(off);
  off += uint64_t{t.n_buckets_} * 4;
  if ((end - off) % kItemSize != 0) {
    return Corrupt("hash items do not fill their table (" + std::to_string(end - off) +
                   " bytes is not a multiple of 24)");
  }
  t.items_offset_ = static_cast<uint32_t>(off);
  t.n_items_ = static_cast<uint32_t>((end - off) / kItemSize);
  t.file_ = std::move(file);

  uint32_t previous = 0;
  for (uint32_t b = 0; b < t.n_buckets_; ++b) {
    const uint32_t first = Le32(f, t.buckets_offset_ + size_t{b} * 4);
    if (first > t.n_items_ || first < previous) {
      return Corrupt("hash bucket " + std::to_string(b) + " points at item " +
                     std::to_string(first) + " of " + std::to_string(t.n_items_));
    }
    previous = first;
  }
  // 0: not checked yet, 1: on the current parent walk, 2: reaches a root.
  std::vector<uint8_t> state(t.n_items_, 0);
  for (uint32_t i = 0; i < t.n_items_; ++i) {
    const Item item = t.ItemAt(i);
    if (uint64_t{item.key_start} + item.key_size > size) {
      return Corrupt("item " + std::to_string(i) + " has its name outside the file");
    }
    if (item.parent != kNoParent && item.parent >= t.n_items_) {
      return Corrupt("item " + std::to_string(i) + " has a parent outside its table");
    }
    const uint32_t alignment = item.type == 'v' ? 8 : 4;
    if (item.type != 'v' && item.type != 'H' && item.type != 'L') {
      return Corrupt("item " + std::to_string(i) + " has unknown type " +
                     std::to_string(static_cast<unsigned char>(item.type)));
    }
    if (item.value_start > item.value_end || item.value_end > size ||
        (item.value_start & (alignment - 1)) != 0) {
      return Corrupt("item " + std::to_string(i) + " has its value outside the file or misaligned");
    }
  }
  // Every parent index is in range now; walk the chains to refuse loops.
  for (uint32_t i = 0; i < t.n_items_; ++i) {
    std::vector<uint32_t> walk;
    for (uint32_t cur = i; cur != kNoParent && state[cur] != 2; cur = t.ItemAt(cur).parent) {
      if (state[cur] == 1) {
        return Corrupt("item " + std::to_string(i) + " has a parent loop");
      }
      state[cur] = 1;
      walk.push_back(cur);
    }
    for (uint32_t w : walk) {
      state[w] = 2;
    }
  }
  return t;
}

GvdbTable::Item GvdbTable::ItemAt(uint32_t index) const {
  const std::string& f = *file_;
  const size_t off = items_offset_ + size_t{index} * kItemSize;
  Item item;
  item.hash = Le32(f, off);
  item.parent = Le32(f, off + 4);
  item.key_start = Le32(f, off + 8);
  item.key_size = Le16(f, off + 12);
  item.type = f[off + 14];
  item.value_start = Le32(f, off + 16);
  item.value_end = Le32(f, off + 20);
  return item;
}

std::string_view GvdbTable::ItemKey(const Item& item) const {
  return std::string_view(*file_).substr(item.key_start, item.key_size);
}

bool GvdbTable::NameMatches(uint32_t index, std::string_view key) const {
  size_t remaining = key.size();
  // Parent chains were checked acyclic in OpenAt, so this walk ends.
  for (uint32_t cur = index;;) {
    const Item item = ItemAt(cur);
    const std::string_view part = ItemKey(item);
    if (part.size() > remaining || key.substr(remaining - part.size(), part.size()) != part) {
      return false;
    }
    remaining -= part.size();
    if (item.parent == kNoParent) {
      return remaining == 0;
    }
    if (remaining == 0) {
      return false;
    }
    cur = item.parent;
  }
}

std::optional<uint32_t> GvdbTable::Find(std::string_view key, char type) const {
  if (n_buckets_ == 0 || n_items_ == 0) {
    return std::nullopt;
  }
  const std::string& f = *file_;
  const uint32_t hash = HashKey(key);
  if (n_bloom_words_ != 0) {
    const uint32_t word = Le32(f, bloom_offset_ + size_t{(hash / 32) % n_bloom_words_} * 4);
    const uint32_t mask = (1u << (hash & 31)) | (1u << ((hash >> bloom_shift_) & 31));
    if ((word & mask) != mask) {
      return std::nullopt;
    }
  }
  const uint32_t bucket = hash % n_buckets_;
  uint32_t index = Le32(f, buckets_offset_ + size_t{bucket} * 4);
  const uint32_t last =
      bucket + 1 == n_buckets_ ? n_items_ : Le32(f, buckets_offset_ + size_t{bucket + 1} * 4);
  for (; index < last; ++index) {
    const Item item = ItemAt(index);
    if (item.hash == hash && NameMatches(index, key)) {
      return item.type == type ? std::optional<uint32_t>(index) : std::nullopt;
    }
  }
  return std::nullopt;
}

std::string GvdbTable::FullName(uint32_t index) const {
  std::vector<std::string_view> parts;
  for (uint32_t cur = index; cur != kNoParent;) {
    const Item item = ItemAt(cur);
    parts.push_back(ItemKey(item));
    cur = item.parent;
  }
  std::string name;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    name += *it;
  }
  return name;
}

Result<std::optional<GVariantValue>> GvdbTable::GetValue(std::string_view key) const {
  const auto index = Find(key, 'v');
  if (!index) {
    return std::optional<GVariantValue>();
  }
  const Item item = ItemAt(*index);
  const std::string_view bytes =
      std::string_view(*file_).substr(item.value_start, item.value_end - item.value_start);
  auto value = DecodeVariant(bytes, byteswapped_);
  if (!value.ok()) {
    return value.error().Wrap(std::string(key));
  }
  return std::optional<GVariantValue>(std::move(value).value());
}

Result<std::optional<GvdbTable>> GvdbTable::GetTable(std::string_view key) const {
  const auto index = Find(key, 'H');
  if (!index) {
    return std::optional<GvdbTable>();
  }
  const Item item = ItemAt(*index);
  auto table = OpenAt(file_, byteswapped_, item.value_start, item.value_end);
  if (!table.ok()) {
    return table.error().Wrap(std::string(key));
  }
  return std::optional<GvdbTable>(std::move(table).value());
}

std::vector<std::string> GvdbTable::ValueNames() const {
  std::vector<std::string> names;
  for (uint32_t i = 0; i < n_items_; ++i) {
    if (ItemAt(i).type == 'v') {
      names.push_back(FullName(i));
    }
  }
  return names;
}

}  // namespace cg::collectors
