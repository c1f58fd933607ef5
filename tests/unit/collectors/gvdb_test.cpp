// GVDB reader: the dconf-compiled fixture (tests/fixtures/screen_lock/gvdb, made by
// regenerate.sh with the real `dconf compile`) read back against its keyfile source, hand-built
// files for byte order and structure errors, and every truncation / corruption of a real file.
#include "collectors/gvdb.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "collectors/gkeyfile.h"

namespace cg::collectors {
namespace {

const std::string kDir = std::string(CG_FIXTURES) + "/screen_lock/gvdb";

std::string ReadHostFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GvdbTest, ReadsEveryKeyOfTheDconfCompiledFileAsItsKeyfileSays) {
  const std::string bytes = ReadHostFile(kDir + "/types.gvdb");
  ASSERT_GT(bytes.size(), 24u);
  auto table = GvdbTable::Open(bytes);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  EXPECT_FALSE(table->byteswapped());
  auto source = ParseDconfKeyfile(ReadHostFile(kDir + "/types.d/00-types"));
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  ASSERT_EQ(source->size(), 14u);
  const auto names = table->ValueNames();
  for (const auto& [key, text] : *source) {
    SCOPED_TRACE(key);
    EXPECT_NE(std::find(names.begin(), names.end(), key), names.end());
    auto value = table->GetValue(key);
    ASSERT_TRUE(value.ok()) << value.error().ToString();
    ASSERT_TRUE(value->has_value());
    if (key == "/counterguard/test/list") {
      EXPECT_EQ((*value)->type, "as");
      EXPECT_TRUE(std::holds_alternative<std::monostate>((*value)->data));
      continue;
    }
    auto expected = ParseGVariantText(text);
    ASSERT_TRUE(expected.ok()) << expected.error().ToString();
    EXPECT_EQ(**value, *expected) << (*value)->ToText() << " vs " << expected->ToText();
  }
  auto idle = table->GetValue("/org/gnome/desktop/session/idle-delay");
  ASSERT_TRUE(idle.ok() && idle->has_value());
  EXPECT_TRUE((*idle)->IsUint32());
  EXPECT_EQ(std::get<uint64_t>((*idle)->data), 300u);
  EXPECT_EQ((*idle)->ToText(), "uint32 300");
  auto str = table->GetValue("/counterguard/test/string");
  ASSERT_TRUE(str.ok() && str->has_value());
  EXPECT_EQ(std::get<std::string>((*str)->data), "tiếng Việt");
}

TEST(GvdbTest, LocksTableHoldsExactlyTheLockedKeys) {
  auto table = GvdbTable::Open(ReadHostFile(kDir + "/types.gvdb"));
  ASSERT_TRUE(table.ok());
  auto locks = table->GetTable(".locks");
  ASSERT_TRUE(locks.ok()) << locks.error().ToString();
  ASSERT_TRUE(locks->has_value());
  const auto expected = ParseDconfLocks(ReadHostFile(kDir + "/types.d/locks/00-types"));
  ASSERT_EQ(expected.size(), 2u);
  for (const auto& k : expected) {
    EXPECT_TRUE((*locks)->HasValue(k)) << k;
  }
  EXPECT_FALSE((*locks)->HasValue("/org/gnome/desktop/screensaver/lock-delay"));
  EXPECT_EQ((*locks)->ValueNames().size(), 2u);
  // A value is not a table and a table is not a value.
  auto not_table = table->GetTable("/org/gnome/desktop/session/idle-delay");
  ASSERT_TRUE(not_table.ok());
  EXPECT_FALSE(not_table->has_value());
  auto not_value = table->GetValue(".locks");
  ASSERT_TRUE(not_value.ok());
  EXPECT_FALSE(not_value->has_value());
}

TEST(GvdbTest, AbsentKeysAndPrefixesAreNotFound) {
  auto table = GvdbTable::Open(ReadHostFile(kDir + "/types.gvdb"));
  ASSERT_TRUE(table.ok());
  for (const char* key : {"/org/gnome/desktop/session/idle-dela", "/org/gnome/desktop/session/",
                          "org/gnome/desktop/session/idle-delay", "", "/",
                          "/org/gnome/desktop/session/idle-delayx"}) {
    auto v = table->GetValue(key);
    ASSERT_TRUE(v.ok()) << key;
    EXPECT_FALSE(v->has_value()) << key;
  }
}

TEST(GvdbTest, EveryTruncationIsRefusedWithoutCrashing) {
  const std::string bytes = ReadHostFile(kDir + "/types.gvdb");
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto table = GvdbTable::Open(bytes.substr(0, len));
    EXPECT_FALSE(table.ok()) << "truncated to " << len << " bytes was accepted";
  }
}

// Whatever a corrupted file contains, reading it ends in a value, nothing or an Error.
void ReadEverything(const std::string& bytes) {
  auto table = GvdbTable::Open(bytes);
  if (!table.ok()) {
    EXPECT_FALSE(table.error().message.empty());
    return;
  }
  for (const auto& name : table->ValueNames()) {
    (void)table->GetValue(name);
  }
  for (const char* key : {"/org/gnome/desktop/session/idle-delay", "/counterguard/test/string",
                          "/counterguard/test/list"}) {
    auto v = table->GetValue(key);
    if (v.ok() && v->has_value()) {
      (void)(*v)->ToText();
    }
  }
  auto locks = table->GetTable(".locks");
  if (locks.ok() && locks->has_value()) {
    (void)(*locks)->ValueNames();
    (void)(*locks)->HasValue("/org/gnome/desktop/session/idle-delay");
  }
}

TEST(GvdbTest, CorruptedBytesNeverCrash) {
  const std::string bytes = ReadHostFile(kDir + "/types.gvdb");
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char b : {0x00, 0xff, 0x7f, 0x80}) {
      std::string mutated = bytes;
      mutated[i] = static_cast<char>(b);
      ReadEverything(mutated);
    }
  }
  std::mt19937 rng(20261126);  // fixed seed: the test is reproducible
  for (int round = 0; round < 300; ++round) {
    std::string garbage = "GVariant" + std::string(16 + rng() % 512, '\0');
    for (size_t i = 8; i < garbage.size(); ++i) {
      garbage[i] = static_cast<char>(rng() % 4 == 0 ? rng() % 64 : rng() % 256);
    }
    ReadEverything(garbage);
  }
}

TEST(GvdbTest, RefusesWhatIsNotAGvdbFile) {
  EXPECT_FALSE(GvdbTable::Open("").ok());
  EXPECT_FALSE(GvdbTable::Open("not a database, just some text here").ok());
  std::string bytes = ReadHostFile(kDir + "/types.gvdb");
  bytes[8] = 1;  // version 1
  auto t = GvdbTable::Open(bytes);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("version"), std::string::npos);
}

// A one-item file built by hand, from the format description.
struct HandBuilt {
  bool big_endian = false;
  uint32_t parent = 0xffffffffu;
  char type = 'v';
  std::string value_bytes;  // the serialized variant

  static void Put32(std::string& s, size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      s[off + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  }
  std::string Build() const {
    const std::string key = "/k";
    const size_t table_start = 24;
    const size_t table_end = table_start + 8 + 4 + 24;
    const size_t key_start = table_end;
    const size_t value_start = (key_start + key.size() + 7) / 8 * 8;
    std::string f(value_start + value_bytes.size(), '\0');
    f.replace(0, 8, big_endian ? "raVGtnai" : "GVariant");
    Put32(f, 16, table_start);
    Put32(f, 20, table_end);
    Put32(f, table_start, 0);      // no bloom filter
    Put32(f, table_start + 4, 1);  // one bucket
    Put32(f, table_start + 8, 0);  // bucket 0 starts at item 0
    const size_t item = table_start + 12;
    uint32_t h = 5381;
    for (char c : key) {
      h = h * 33 + static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
    }
    Put32(f, item, h);
    Put32(f, item + 4, parent);
    Put32(f, item + 8, static_cast<uint32_t>(key_start));
    f[item + 12] = static_cast<char>(key.size());
    f[item + 14] = type;
    Put32(f, item + 16, static_cast<uint32_t>(value_start));
    Put32(f, item + 20, static_cast<uint32_t>(value_start + value_bytes.size()));
    f.replace(key_start, key.size(), key);
    f.replace(value_start, value_bytes.size(), value_bytes);
    return f;
  }
};

TEST(GvdbTest, ReadsBothByteOrders) {
  HandBuilt le;
  le.value_bytes = std::string("\x2c\x01\x00\x00\x00u", 6);
  auto t = GvdbTable::Open(le.Build());
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  auto v = t->GetValue("/k");
  ASSERT_TRUE(v.ok() && v->has_value()) << (v.ok() ? "absent" : v.error().ToString());
  EXPECT_EQ(**v, MakeUint32(300));

  HandBuilt be;
  be.big_endian = true;
  be.value_bytes = std::string("\x00\x00\x01\x2c\x00u", 6);
  t = GvdbTable::Open(be.Build());
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_TRUE(t->byteswapped());
  v = t->GetValue("/k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, MakeUint32(300));
}

TEST(GvdbTest, RefusesStructuralLies) {
  HandBuilt loop;
  loop.parent = 0;  // its own parent
  loop.value_bytes = std::string(
      "\x01\x00"
      "b",
      3);
  auto t = GvdbTable::Open(loop.Build());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("loop"), std::string::npos) << t.error().message;

  HandBuilt bad_type;
  bad_type.type = 'Z';
  bad_type.value_bytes = std::string(
      "\x01\x00"
      "b",
      3);
  EXPECT_FALSE(GvdbTable::Open(bad_type.Build()).ok());

  HandBuilt orphan;
  orphan.parent = 7;  // no such item
  orphan.value_bytes = std::string(
      "\x01\x00"
      "b",
      3);
  EXPECT_FALSE(GvdbTable::Open(orphan.Build()).ok());
}

TEST(GvdbTest, MalformedValuesAreErrorsNotGuesses) {
  struct Case {
    std::string bytes;
    const char* why;
  };
  const Case cases[] = {
      {std::string("\x02\x00"
                   "b",
                   3),
       "boolean byte 2"},
      {std::string("\x2c\x01\x00\x00u", 5), "uint32 of 3 bytes"},
      {std::string("abc\x00s", 5), "string without its terminating zero"},
      {std::string("no separator"), "no type string"},
      {std::string("\x01\x00"
                   "%",
                   3),
       "invalid type character"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(DecodeVariant(c.bytes, false).ok()) << c.why;
    HandBuilt f;
    f.value_bytes = c.bytes;
    auto t = GvdbTable::Open(f.Build());
    ASSERT_TRUE(t.ok()) << c.why << ": " << t.error().ToString();
    auto v = t->GetValue("/k");
    EXPECT_FALSE(v.ok()) << c.why;
  }
}

TEST(GVariantTextTest, ParsesWhatDconfKeyfilesCarry) {
  struct Case {
    const char* text;
    GVariantValue expected;
  };
  const Case cases[] = {
      {"uint32 300", MakeUint32(300)},
      {"  @u 7 ", MakeUint32(7)},
      {"300", GVariantValue{"i", int64_t{300}}},
      {"-5", GVariantValue{"i", int64_t{-5}}},
      {"0x10", GVariantValue{"i", int64_t{16}}},
      {"010", GVariantValue{"i", int64_t{8}}},
      {"true", MakeBool(true)},
      {"boolean false", MakeBool(false)},
      {"'it\\'s'", GVariantValue{"s", std::string("it's")}},
      {"\"x\\u00e9\"", GVariantValue{"s", std::string("x\xc3\xa9")}},
      {"uint64 18446744073709551615", GVariantValue{"t", uint64_t{18446744073709551615u}}},
      {"int64 -9223372036854775808", GVariantValue{"x", std::numeric_limits<int64_t>::min()}},
      {"2.5", GVariantValue{"d", 2.5}},
  };
  for (const auto& c : cases) {
    auto v = ParseGVariantText(c.text);
    ASSERT_TRUE(v.ok()) << c.text << ": " << v.error().ToString();
    EXPECT_EQ(*v, c.expected) << c.text << " -> " << v->ToText();
  }
  for (const char* bad : {"", "uint32 -1", "uint32 4294967296", "3000000000", "[1, 2]",
                          "'unterminated", "uint32 true", "boolean 1", "'a' trailing", "@q"}) {
    EXPECT_FALSE(ParseGVariantText(bad).ok()) << bad;
  }
}

TEST(GVariantTextTest, TextFormRoundTrips) {
  for (const GVariantValue& v :
       {MakeUint32(300), MakeBool(true), GVariantValue{"i", int64_t{-3}},
        GVariantValue{"s", std::string("a'b")}, GVariantValue{"q", uint64_t{9}}}) {
    auto back = ParseGVariantText(v.ToText());
    ASSERT_TRUE(back.ok()) << v.ToText();
    EXPECT_EQ(*back, v) << v.ToText();
  }
}

}  // namespace
}  // namespace cg::collectors
