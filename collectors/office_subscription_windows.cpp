// office_license on Windows: Microsoft 365 subscription licensing (see the header for the
// sources and what Microsoft's vNextDiag.ps1 says each value means).
#include "collectors/office_subscription_windows.h"

#include <algorithm>
#include <cctype>

#include "common/ids.h"
#include "common/text.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::RegistryValueType;

constexpr std::string_view kProfileList =
    R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList)";
constexpr std::string_view kWindowsNt = R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion)";
// Where vNextDiag.ps1 (PrintSharedComputerLicensing) looks, in its order.
constexpr std::string_view kSclKeys[] = {
    R"(SOFTWARE\Microsoft\Office\ClickToRun\Configuration)",
    R"(SOFTWARE\Microsoft\Office\16.0\Common\Licensing)",
    R"(SOFTWARE\Policies\Microsoft\Office\16.0\Common\Licensing)"};
constexpr std::string_view kLicensingNext =
    R"(Software\Microsoft\Office\16.0\Common\Licensing\LicensingNext)";
constexpr std::string_view kUserLicences = "/AppData/Local/Microsoft/Office/Licenses";
constexpr std::string_view kDeviceLicences = "/Microsoft/Office/Licenses";
constexpr size_t kMaxLicenceBytes = 1u << 20;
constexpr size_t kMaxLicenceFiles = 256;
constexpr int kMaxDepth = 3;  // Licenses\<version>\<file>, and one level more

// A JSON member by name, compared without case (PowerShell's ConvertFrom-Json objects are
// case-insensitive, and the script spells both "Metadata" and "MetaData").
const json* Member(const json& object, std::string_view name) {
  if (!object.is_object()) {
    return nullptr;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (EqualsIgnoreCase(it.key(), name)) {
      return &it.value();
    }
  }
  return nullptr;
}

std::string StringMember(const json& object, std::string_view name) {
  const json* v = Member(object, name);
  if (v == nullptr || v->is_null()) {
    return "";
  }
  return v->is_string() ? v->get<std::string>() : v->dump();
}

// "%SystemDrive%\Users\an" with the drive from SystemRoot ("C:\WINDOWS"), "/" separators
// (the Windows file layer turns them back); other variables are not expanded: "".
std::string ExpandProfilePath(std::string path, const std::string& system_drive) {
  constexpr std::string_view kVar = "%SystemDrive%";
  if (path.size() >= kVar.size() && EqualsIgnoreCase(path.substr(0, kVar.size()), kVar)) {
    if (system_drive.empty()) {
      return "";
    }
    path = system_drive + path.substr(kVar.size());
  }
  if (path.find('%') != std::string::npos) {
    return "";
  }
  std::replace(path.begin(), path.end(), '\\', '/');
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  return path;
}

// Every file under `dir` (to kMaxDepth), in name order; a missing folder has none.
void CollectFiles(const platform::FileSystem& files, const std::string& dir, int depth,
                  std::vector<std::string>& out, json& errors) {
  auto entries = files.ListDir(dir);
  if (!entries.ok()) {
    if (entries.error().code != ErrorCode::kNotFound) {
      errors.push_back(entries.error().ToString());
    }
    return;
  }
  for (const auto& e : *entries) {
    const std::string path = dir + "/" + e.name;
    if (e.type == platform::FileType::kDirectory && depth < kMaxDepth) {
      CollectFiles(files, path, depth + 1, out, errors);
    } else if (e.type == platform::FileType::kRegular && out.size() < kMaxLicenceFiles) {
      out.push_back(path);
    }
  }
}

void ReadLicences(const platform::FileSystem& files, const std::string& dir,
                  const std::string& scope, const std::string& owner, SysTime now,
                  OfficeSubscription& out, json& searched) {
  std::vector<std::string> paths;
  json errors = json::array();
  CollectFiles(files, dir, 1, paths, errors);
  json entry = {{"folder", dir}, {"scope", scope}, {"files", paths.size()}};
  if (!owner.empty()) {
    entry["user"] = owner;
  }
  if (!errors.empty()) {
    entry["errors"] = errors;
  }
  searched.push_back(std::move(entry));
  for (const auto& path : paths) {
    VNextLicence l;
    auto bytes = files.ReadFile(path, kMaxLicenceBytes);
    if (bytes.ok()) {
      l = DecodeVNextLicence(*bytes, now);
    } else {
      l.undecided = "cannot be read: " + bytes.error().message;
    }
    l.file = path;
    l.scope = scope;
    l.owner = owner;
    out.licences.push_back(std::move(l));
  }
}

// SharedComputerLicensing as the script reads it: 1 enables (REG_SZ "1" in ClickToRun's
// configuration, REG_DWORD 1 from the policy), 0 disables.
std::optional<int> SclValue(const RegistryValue& v) {
  if (v.type == RegistryValueType::kDword || v.type == RegistryValueType::kQword) {
    return v.number <= 1 ? std::optional<int>(static_cast<int>(v.number)) : std::nullopt;
  }
  if (v.type == RegistryValueType::kString) {
    const std::string_view t = Trim(v.text);
    if (t == "0" || t == "1") {
      return t[0] - '0';
    }
  }
  return std::nullopt;
}

}  // namespace

json VNextLicence::Facts() const {
  json j = {{"file", file}, {"scope", scope}};
  if (!owner.empty()) {
    j["user"] = owner;
  }
  for (const auto& [name, value] : {std::pair{"product_release_id", &product_release_id},
                                    {"licence_type", &licence_type},
                                    {"entitlement_status", &entitlement_status},
                                    {"expires_on", &expires_on},
                                    {"not_after", &not_after}}) {
    if (!value->empty()) {
      j[name] = *value;
    }
  }
  if (!state.empty()) {
    j["state"] = state;
  } else {
    j["undecided"] = undecided;
  }
  return j;
}

Result<std::string> Utf16LeToUtf8(std::string_view bytes) {
  if (bytes.size() % 2 != 0) {
    return MakeError(ErrorCode::kParse, "not UTF-16: an odd number of bytes");
  }
  size_t i = 0;
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xFE) {
    i = 2;
  }
  auto unit = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8);
  };
  std::string out;
  out.reserve(bytes.size() / 2);
  for (; i < bytes.size(); i += 2) {
    uint32_t c = unit(i);
    if (c >= 0xD800 && c <= 0xDBFF) {
      if (i + 3 >= bytes.size() || unit(i + 2) < 0xDC00 || unit(i + 2) > 0xDFFF) {
        return MakeError(ErrorCode::kParse, "not UTF-16: an unpaired surrogate");
      }
      c = 0x10000 + ((c - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
      i += 2;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
      return MakeError(ErrorCode::kParse, "not UTF-16: an unpaired surrogate");
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

VNextLicence DecodeVNextLicence(std::string_view bytes, SysTime now) {
  VNextLicence l;
  auto text = Utf16LeToUtf8(bytes);  // Get-Content -Encoding Unicode
  if (!text.ok()) {
    l.undecided = text.error().message;
    return l;
  }
  const json outer = json::parse(*text, nullptr, false);
  const json* blob = Member(outer, "License");
  if (outer.is_discarded() || blob == nullptr || !blob->is_string()) {
    l.undecided = "not a licence file (no \"License\" in a JSON object)";
    return l;
  }
  auto decoded = Base64Decode(blob->get<std::string>());
  if (!decoded.ok()) {
    l.undecided = "\"License\" is not base64: " + decoded.error().message;
    return l;
  }
  const json licence = json::parse(*decoded, nullptr, false);
  if (licence.is_discarded() || !licence.is_object()) {
    l.undecided = "the decoded \"License\" is not a JSON object";
    return l;
  }
  l.product_release_id = StringMember(licence, "ProductReleaseId");
  l.licence_type = StringMember(licence, "LicenseType");
  l.entitlement_status = StringMember(licence, "Status");
  l.expires_on = StringMember(licence, "ExpiresOn");
  const json* metadata = Member(licence, "Metadata");
  l.not_after = metadata ? StringMember(*metadata, "NotAfter") : "";
  // The script's rule (PrintLicensesInformation): now > NotAfter -> RFM; ExpiresOn missing or
  // now < ExpiresOn -> Licensed; else Grace. Without NotAfter its Get-Date fails: undecided.
  auto not_after = ParseRfc3339(l.not_after);
  if (!not_after.ok()) {
    l.undecided = l.not_after.empty() ? "no Metadata.NotAfter"
                                      : "Metadata.NotAfter \"" + l.not_after + "\" is not a date";
    return l;
  }
  if (now > *not_after) {
    l.state = "RFM";
    return l;
  }
  if (l.expires_on.empty()) {
    l.state = "Licensed";
    return l;
  }
  auto expires = ParseRfc3339(l.expires_on);
  if (!expires.ok()) {
    l.undecided = "ExpiresOn \"" + l.expires_on + "\" is not a date";
    return l;
  }
  l.state = now < *expires ? "Licensed" : "Grace";
  return l;
}

OfficeSubscription ReadOfficeSubscription(const platform::Registry& reg,
                                          const platform::FileSystem& files,
                                          const std::vector<std::string>& release_ids,
                                          SysTime now) {
  OfficeSubscription out;
  json& facts = out.facts;

  // Shared Computer Licensing: enabled when any of the three says 1.
  json scl = json::array();
  for (const auto key : kSclKeys) {
    auto v = reg.GetValue(RegistryHive::kLocalMachine, key, "SharedComputerLicensing");
    if (!v.ok()) {
      if (v.error().code != ErrorCode::kNotFound) {
        scl.push_back({{"key", "HKLM\\" + std::string(key)}, {"error", v.error().message}});
      }
      continue;
    }
    const auto value = SclValue(*v);
    json entry = {{"key", "HKLM\\" + std::string(key)}};
    if (value) {
      entry["value"] = *value;
      out.shared_computer_licensing = out.shared_computer_licensing.value_or(false) || *value;
    } else {
      entry["value"] = v->type == RegistryValueType::kString ? json(v->text) : json(v->number);
      entry["undecided"] = "neither 0 nor 1";
    }
    scl.push_back(std::move(entry));
  }
  facts["shared_computer_licensing"] = {
      {"values", scl},
      {"enabled",
       out.shared_computer_licensing ? json(*out.shared_computer_licensing) : json(nullptr)}};

  // The licensing mode per release id, in every loaded user hive.
  json modes = json::array();
  auto hives = reg.ListSubkeys(RegistryHive::kUsers, "");
  if (hives.ok()) {
    for (const auto& sid : *hives) {
      if (!platform::IsUserHiveName(sid)) {
        continue;
      }
      for (const auto& id : release_ids) {
        auto v = reg.GetNumber(RegistryHive::kUsers, sid + "\\" + std::string(kLicensingNext), id);
        if (v.ok()) {
          modes.push_back({{"sid", sid},
                           {"product_release_id", id},
                           {"value", *v},
                           {"mode", *v == 2   ? "vNext"
                                    : *v == 3 ? "Device"
                                              : "Legacy"}});
        }
      }
    }
  } else {
    facts["licensing_mode_error"] = hives.error().Wrap("listing HKEY_USERS").ToString();
  }
  facts["licensing_mode"] = modes;

  // The licence files: each profile's %LOCALAPPDATA% and the machine's %PROGRAMDATA%.
  const std::string system_root =
      reg.GetString(RegistryHive::kLocalMachine, kWindowsNt, "SystemRoot").value_or("");
  const std::string system_drive =
      system_root.size() >= 2 && system_root[1] == ':' ? system_root.substr(0, 2) : "";
  json searched = json::array();
  auto sids = reg.ListSubkeys(RegistryHive::kLocalMachine, kProfileList);
  if (!sids.ok() && sids.error().code != ErrorCode::kNotFound) {
    facts["profile_list_error"] = sids.error().ToString();
  }
  for (const auto& sid : sids.ok() ? *sids : std::vector<std::string>()) {
    if (!platform::IsUserHiveName(sid)) {
      continue;
    }
    auto image = reg.GetString(RegistryHive::kLocalMachine, std::string(kProfileList) + "\\" + sid,
                               "ProfileImagePath");
    const std::string profile = image.ok() ? ExpandProfilePath(*image, system_drive) : "";
    if (profile.empty()) {
      searched.push_back({{"sid", sid},
                          {"error", image.ok() ? "cannot expand ProfileImagePath \"" + *image + "\""
                                               : image.error().ToString()}});
      continue;
    }
    const size_t slash = profile.find_last_of('/');
    ReadLicences(files, profile + std::string(kUserLicences), "user",
                 slash == std::string::npos ? profile : profile.substr(slash + 1), now, out,
                 searched);
  }
  std::string program_data =
      ExpandProfilePath(reg.GetString(RegistryHive::kLocalMachine, kProfileList, "ProgramData")
                            .value_or("%SystemDrive%\\ProgramData"),
                        system_drive);
  if (program_data.empty()) {
    searched.push_back({{"scope", "device"}, {"error", "cannot tell where ProgramData is"}});
  } else {
    ReadLicences(files, program_data + std::string(kDeviceLicences), "device", "", now, out,
                 searched);
  }
  facts["licence_folders"] = searched;
  json licences = json::array();
  for (const auto& l : out.licences) {
    licences.push_back(l.Facts());
  }
  facts["licences"] = licences;
  return out;
}

std::optional<bool> SubscriptionVerdict(const OfficeSubscription& s,
                                        const std::vector<std::string>& release_ids,
                                        std::string& detail) {
  const VNextLicence* licensed = nullptr;
  const VNextLicence* lapsed = nullptr;
  const VNextLicence* undecided = nullptr;
  for (const auto& l : s.licences) {
    if (!l.product_release_id.empty() &&
        std::none_of(release_ids.begin(), release_ids.end(),
                     [&](const auto& id) { return EqualsIgnoreCase(id, l.product_release_id); })) {
      continue;  // a licence of another product (Visio, Project)
    }
    if (l.state.empty()) {
      undecided = undecided ? undecided : &l;
    } else if (l.state == "Licensed") {
      licensed = licensed ? licensed : &l;
    } else {
      lapsed = lapsed ? lapsed : &l;
    }
  }
  auto who = [](const VNextLicence& l) {
    return l.scope == "device" ? std::string("the device licence")
                               : "the licence of user " + l.owner;
  };
  if (lapsed != nullptr) {
    detail = "not licensed: " + who(*lapsed) + " for " + lapsed->product_release_id + " is " +
             (lapsed->state == "RFM"
                  ? "in reduced functionality mode (valid until " + lapsed->not_after + ")"
                  : "in grace (the subscription ended " + lapsed->expires_on + ")") +
             " (" + lapsed->file + ")";
    return false;
  }
  if (undecided != nullptr) {
    detail = "a Microsoft 365 licence file cannot be judged (" + undecided->file + ": " +
             undecided->undecided + ")";
    return std::nullopt;
  }
  if (licensed != nullptr) {
    detail = "licensed: " + who(*licensed) + " for " + licensed->product_release_id +
             " is Licensed (" +
             (licensed->expires_on.empty() ? std::string("no end of subscription")
                                           : "subscription until " + licensed->expires_on) +
             ", valid offline until " + licensed->not_after + ")";
    return true;
  }
  detail = "no Microsoft 365 licence file for " + [&] {
    std::string ids;
    for (const auto& id : release_ids) {
      ids += (ids.empty() ? "" : ", ") + id;
    }
    return ids;
  }();
  return std::nullopt;
}

}  // namespace cg::collectors
