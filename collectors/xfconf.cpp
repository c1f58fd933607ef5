// xfconf channel parsing (see xfconf.h).
#include "collectors/xfconf.h"

#include <cctype>
#include <charconv>

namespace cg::collectors {
namespace {

class XmlParser {
 public:
  explicit XmlParser(std::string_view text) : text_(text) {}

  Result<XmlElement> ParseDocument() {
    SkipMisc();
    CG_ASSIGN_OR_RETURN(auto root, ParseElement(0));
    SkipMisc();
    if (pos_ != text_.size()) {
      return Fail("content after the root element");
    }
    return root;
  }

 private:
  Error Fail(const std::string& what) const {
    return MakeError(ErrorCode::kParse, "XML offset " + std::to_string(pos_) + ": " + what);
  }
  bool StartsWith(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }
  // Whitespace, comments, the XML declaration, processing instructions and a DOCTYPE.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      std::string_view end;
      if (StartsWith("<!--")) {
        end = "-->";
      } else if (StartsWith("<?")) {
        end = "?>";
      } else if (StartsWith("<!")) {
        end = ">";
      } else {
        return;
      }
      const size_t e = text_.find(end, pos_ + 2);
      pos_ = e == std::string_view::npos ? text_.size() : e + end.size();
    }
  }
  std::string Name() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 ||
            std::string_view("-_:.").find(text_[pos_]) != std::string_view::npos)) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  Result<std::string> Unescape(std::string_view raw) const {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos) {
        return Fail("unterminated entity");
      }
      const std::string_view ent = raw.substr(i + 1, semi - i - 1);
      static const std::map<std::string_view, char> kEntities = {
          {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
      if (auto it = kEntities.find(ent); it != kEntities.end()) {
        out += it->second;
      } else if (ent.size() > 1 && ent.front() == '#') {
        const bool hex = ent.size() > 2 && (ent[1] == 'x' || ent[1] == 'X');
        const std::string_view digits = ent.substr(hex ? 2 : 1);
        uint32_t cp = 0;
        auto [ptr, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
        if (ec != std::errc() || ptr != digits.data() + digits.size() || cp > 0x7f) {
          return Fail("unsupported character reference &" + std::string(ent) + ";");
        }
        out += static_cast<char>(cp);
      } else {
        return Fail("unknown entity &" + std::string(ent) + ";");
      }
      i = semi;
    }
    return out;
  }
  Result<XmlElement> ParseElement(int depth) {
    if (depth > 32) {
      return Fail("elements nested too deeply");
    }
    if (!StartsWith("<")) {
      return Fail("expected an element");
    }
    ++pos_;
    XmlElement el;
    el.name = Name();
    if (el.name.empty()) {
      return Fail("element without a name");
    }
    for (;;) {
      SkipSpace();
      if (StartsWith("/>")) {
        pos_ += 2;
        return el;
      }
      if (StartsWith(">")) {
        ++pos_;
        break;
      }
      std::string attr = Name();
      SkipSpace();
      if (attr.empty() || !StartsWith("=")) {
        return Fail("bad attribute in <" + el.name + ">");
      }
      ++pos_;
      SkipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
        return Fail("unquoted attribute value");
      }
      const char quote = text_[pos_];
      const size_t end = text_.find(quote, pos_ + 1);
      if (end == std::string_view::npos) {
        return Fail("unterminated attribute value");
      }
      CG_ASSIGN_OR_RETURN(el.attributes[attr], Unescape(text_.substr(pos_ + 1, end - pos_ - 1)));
      pos_ = end + 1;
    }
    for (;;) {
      // Text between elements carries nothing in xfconf files.
      while (pos_ < text_.size() && text_[pos_] != '<') {
        ++pos_;
      }
      if (pos_ >= text_.size()) {
        return Fail("<" + el.name + "> is not closed");
      }
      if (StartsWith("<!--")) {
        const size_t e = text_.find("-->", pos_);
        pos_ = e == std::string_view::npos ? text_.size() : e + 3;
        continue;
      }
      if (StartsWith("</")) {
        pos_ += 2;
        const std::string closing = Name();
        SkipSpace();
        if (closing != el.name || !StartsWith(">")) {
          return Fail("</" + closing + "> does not close <" + el.name + ">");
        }
        ++pos_;
        return el;
      }
      CG_ASSIGN_OR_RETURN(auto child, ParseElement(depth + 1));
      el.children.push_back(std::move(child));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

void CollectProperties(const XmlElement& el, const std::string& prefix, XfconfChannel& ch) {
  for (const auto& child : el.children) {
    if (child.name != "property") {
      continue;
    }
    auto name = child.attributes.find("name");
    if (name == child.attributes.end()) {
      continue;
    }
    const std::string path = prefix + "/" + name->second;
    XfconfProperty p;
    auto get = [&](const char* attr) -> std::optional<std::string> {
      auto it = child.attributes.find(attr);
      return it == child.attributes.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    p.type = get("type").value_or("");
    p.value = get("value");
    p.locked = get("locked");
    p.unlocked = get("unlocked");
    ch.properties[path] = std::move(p);
    CollectProperties(child, path, ch);
  }
}

}  // namespace

Result<XmlElement> ParseXmlDocument(std::string_view text) {
  return XmlParser(text).ParseDocument();
}

Result<XfconfChannel> ParseXfconf(std::string_view text) {
  CG_ASSIGN_OR_RETURN(auto root, ParseXmlDocument(text));
  if (root.name != "channel") {
    return MakeError(ErrorCode::kParse, "root element is <" + root.name + ">, not <channel>");
  }
  XfconfChannel ch;
  if (auto it = root.attributes.find("locked"); it != root.attributes.end()) {
    ch.locked = it->second;
  }
  if (auto it = root.attributes.find("unlocked"); it != root.attributes.end()) {
    ch.unlocked = it->second;
  }
  CollectProperties(root, "", ch);
  return ch;
}

}  // namespace cg::collectors
