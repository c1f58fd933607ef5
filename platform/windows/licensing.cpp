// Software Licensing products through WMI. The query filters by application id; the products
// without a key (every SKU Windows knows, hundreds) are dropped here.
#include "platform/windows/licensing.h"

#include <algorithm>
#include <cctype>

#include "platform/windows/utf16.h"
#include "platform/windows/wmi.h"

namespace cg::platform::windows {

namespace {

bool IsGuid(std::string_view id) {
  if (id.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

class WindowsLicensing final : public Licensing {
 public:
  Result<std::vector<LicensingProduct>> Products(LicensingService service,
                                                 std::string_view application_id) const override {
    if (!IsGuid(application_id)) {  // it goes into the WQL text
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + std::string(application_id) + "' is not an application id");
    }
    const std::string klass = service == LicensingService::kSoftwareLicensing
                                  ? "SoftwareLicensingProduct"
                                  : "OfficeSoftwareProtectionProduct";
    CG_ASSIGN_OR_RETURN(std::wstring wql,
                        Utf8ToWide("SELECT * FROM " + klass + " WHERE ApplicationID='" +
                                   std::string(application_id) + "'"));
    std::vector<LicensingProduct> out;
    CG_RETURN_IF_ERROR(WmiQuery(L"ROOT\\CIMV2", wql, [&](const WmiObject& o) -> Status {
      // The documented properties must exist: an object without them (Wine's one-row
      // SoftwareLicensingProduct has only LicenseStatus and LicenseIsAddon) is no product.
      CG_ASSIGN_OR_RETURN(std::optional<std::string> app, o.String(L"ApplicationID"));
      CG_ASSIGN_OR_RETURN(std::optional<std::string> key, o.String(L"PartialProductKey"));
      if (!key || key->empty()) {
        return OkStatus();
      }
      LicensingProduct p;
      p.source = klass;
      p.application_id = app.value_or("");
      std::transform(p.application_id.begin(), p.application_id.end(), p.application_id.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (p.application_id != application_id) {
        return OkStatus();  // WQL compares case-insensitively; so does this
      }
      p.partial_key = *key;
      CG_ASSIGN_OR_RETURN(std::optional<std::string> id, o.String(L"ID"));
      p.id = id.value_or("");
      CG_ASSIGN_OR_RETURN(std::optional<std::string> name, o.String(L"Name"));
      p.name = name.value_or("");
      CG_ASSIGN_OR_RETURN(std::optional<std::string> description, o.String(L"Description"));
      p.description = description.value_or("");
      CG_ASSIGN_OR_RETURN(std::optional<uint32_t> status, o.Uint32(L"LicenseStatus"));
      if (!status) {
        return MakeError(ErrorCode::kParse, klass + " '" + p.name + "' has no LicenseStatus");
      }
      p.license_status = *status;
      CG_ASSIGN_OR_RETURN(p.grace_minutes, o.Uint32(L"GracePeriodRemaining"));
      // Newer properties (Windows 8+, not in OfficeSoftwareProtectionProduct): optional.
      if (auto reason = o.Uint32(L"LicenseStatusReason"); reason.ok()) {
        p.status_reason = *reason;
      }
      if (auto addon = o.Bool(L"LicenseIsAddon"); addon.ok()) {
        p.is_addon = *addon;
      }
      if (auto channel = o.String(L"ProductKeyChannel"); channel.ok()) {
        p.channel = channel->value_or("");
      }
      if (auto kms = o.String(L"KeyManagementServiceMachine"); kms.ok()) {
        p.kms_machine = kms->value_or("");
      }
      out.push_back(std::move(p));
      return OkStatus();
    }));
    return out;
  }
};

}  // namespace

std::unique_ptr<Licensing> CreateWindowsLicensing() { return std::make_unique<WindowsLicensing>(); }

}  // namespace cg::platform::windows
