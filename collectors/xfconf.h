// xfconf channel files (xfce-perchannel-xml/*.xml) as xfconfd reads them: a small XML reader
// (elements, attributes, the predefined entities; no DTDs) and the channel's properties with
// their locked="..." / unlocked="..." user lists.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::collectors {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<XmlElement> children;
};

// One root element with whitespace, comments, an XML declaration, processing instructions and
// a DOCTYPE around it; kParse (with the offset) for anything else.
Result<XmlElement> ParseXmlDocument(std::string_view text);

struct XfconfProperty {
  std::string type;
  std::optional<std::string> value;
  std::optional<std::string> locked;
  std::optional<std::string> unlocked;
};
struct XfconfChannel {
  std::optional<std::string> locked;
  std::optional<std::string> unlocked;
  std::map<std::string, XfconfProperty> properties;  // "/saver/enabled"
};

// A <channel> document: its properties by path ("/saver/enabled"), nested properties
// included. kParse when it is not XML or its root is not <channel>.
Result<XfconfChannel> ParseXfconf(std::string_view text);

}  // namespace cg::collectors
