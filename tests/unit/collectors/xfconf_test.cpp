// xfconf channel files: the small XML reader and the channel's properties and lock lists.
#include "collectors/xfconf.h"

#include <gtest/gtest.h>

namespace cg::collectors {
namespace {

TEST(Xfconf, PropertiesNestedWithTheirLockLists) {
  auto ch = ParseXfconf(R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- written by xfconfd -->
<channel name="xfce4-screensaver" version="1.0" locked="@staff;alice" unlocked='bob'>
  <property name="saver" type="empty">
    <property name="enabled" type="bool" value="true" locked="*"/>
    <property name="idle-activation" type="empty">
      <!-- minutes -->
      <property name="delay" type="int" value="5"/>
    </property>
  </property>
  <property name="lock" type="empty"><property name="enabled" type="bool" value="false"/></property>
</channel>
)");
  ASSERT_TRUE(ch.ok()) << ch.error().ToString();
  EXPECT_EQ(ch->locked, "@staff;alice");
  EXPECT_EQ(ch->unlocked, "bob");
  ASSERT_EQ(ch->properties.count("/saver/enabled"), 1u);
  EXPECT_EQ(ch->properties.at("/saver/enabled").type, "bool");
  EXPECT_EQ(ch->properties.at("/saver/enabled").value, "true");
  EXPECT_EQ(ch->properties.at("/saver/enabled").locked, "*");
  EXPECT_EQ(ch->properties.at("/saver/idle-activation/delay").value, "5");
  EXPECT_EQ(ch->properties.at("/lock/enabled").value, "false");
  EXPECT_EQ(ch->properties.at("/saver").value, std::nullopt);
  EXPECT_EQ(ch->properties.size(), 6u);
}

TEST(Xfconf, EntitiesAndCharacterReferences) {
  auto el = ParseXmlDocument("<a x=\"&lt;&amp;&gt;&quot;&apos;&#65;&#x42;\"/>");
  ASSERT_TRUE(el.ok()) << el.error().ToString();
  EXPECT_EQ(el->attributes.at("x"), "<&>\"'AB");
}

TEST(Xfconf, RefusesBrokenDocumentsWithTheOffset) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const auto& c : {
           Case{"<channel>", "is not closed"},
           Case{"<channel></other>", "</other> does not close <channel>"},
           Case{"<channel a=1/>", "unquoted attribute value"},
           Case{"<channel a=\"&nbsp;\"/>", "unknown entity &nbsp;"},
           Case{"<channel a=\"&#233;\"/>", "unsupported character reference"},
           Case{"<channel/><channel/>", "content after the root element"},
           Case{"", "expected an element"},
       }) {
    auto r = ParseXfconf(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("XML offset"), std::string::npos) << r.error().message;
  }
  std::string nested;
  for (int i = 0; i < 40; ++i) {
    nested += "<a>";
  }
  auto too_deep = ParseXmlDocument(nested);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.error().message.find("nested too deeply"), std::string::npos);
}

TEST(Xfconf, RootMustBeAChannel) {
  auto r = ParseXfconf("<settings/>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not <channel>"), std::string::npos);
}

}  // namespace
}  // namespace cg::collectors
