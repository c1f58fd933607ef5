// Security Center products (COM), their WMI mirror, and Defender's status (WMI).
#include "platform/windows/security_center.h"

// clang-format off
#include <windows.h>
#include <objbase.h>
#include <oleauto.h>
// clang-format on

#include "platform/windows/com.h"
#include "platform/windows/wmi.h"

namespace cg::platform::windows {

namespace {

// From iwscapi.h / wscapi.h of the Windows SDK (learn.microsoft.com/windows/win32/api/iwscapi/):
// CLSID_WSCProductList, IID_IWSCProductList, IID_IWscProduct and the enums, which mingw-w64
// does not ship. Both interfaces derive from IDispatch; the methods are in vtable order.
constexpr GUID kClsidWscProductList = {
    0x17072F7B, 0x9ABE, 0x4A74, {0xA2, 0x61, 0x1E, 0xB7, 0x6B, 0x55, 0x10, 0x7A}};
constexpr GUID kIidWscProductList = {
    0x722A338C, 0x6E8E, 0x4E72, {0xAC, 0x27, 0x14, 0x17, 0xFB, 0x0C, 0x81, 0xC2}};
constexpr ULONG kWscSecurityProviderAntivirus = 4;  // WSC_SECURITY_PROVIDER_ANTIVIRUS

// COM objects are destroyed by Release, never through a C++ destructor.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
struct IWscProductRaw : public IDispatch {
  virtual HRESULT STDMETHODCALLTYPE get_ProductName(BSTR* value) = 0;
  virtual HRESULT STDMETHODCALLTYPE
  get_ProductState(LONG* value) = 0;  // WSC_SECURITY_PRODUCT_STATE
  virtual HRESULT STDMETHODCALLTYPE get_SignatureStatus(LONG* value) = 0;
  virtual HRESULT STDMETHODCALLTYPE get_RemediationPath(BSTR* value) = 0;
  virtual HRESULT STDMETHODCALLTYPE get_ProductStateTimestamp(BSTR* value) = 0;
};

struct IWscProductListRaw : public IDispatch {
  virtual HRESULT STDMETHODCALLTYPE Initialize(ULONG provider) = 0;
  virtual HRESULT STDMETHODCALLTYPE get_Count(LONG* count) = 0;
  virtual HRESULT STDMETHODCALLTYPE get_Item(ULONG index, IWscProductRaw** product) = 0;
};
#pragma GCC diagnostic pop

AvProductState StateOf(LONG raw) {
  switch (raw) {
    case 0:
      return AvProductState::kOn;
    case 1:
      return AvProductState::kOff;
    case 2:
      return AvProductState::kSnoozed;
    case 3:
      return AvProductState::kExpired;
    default:
      return AvProductState::kUnknown;
  }
}

AvSignatureStatus SignaturesOf(LONG raw) {
  switch (raw) {
    case 0:
      return AvSignatureStatus::kOutOfDate;
    case 1:
      return AvSignatureStatus::kUpToDate;
    default:
      return AvSignatureStatus::kUnknown;
  }
}

Result<std::vector<WscProduct>> ReadWscProducts() {
  std::vector<WscProduct> products;
  CG_RETURN_IF_ERROR(RunInComThread([&]() -> Status {
    ComPtr<IWscProductListRaw> list;
    HRESULT hr = CoCreateInstance(kClsidWscProductList, nullptr, CLSCTX_INPROC_SERVER,
                                  kIidWscProductList, list.PutVoid());
    if (FAILED(hr)) {
      return HresultError("Security Center: CoCreateInstance(WSCProductList)", hr);
    }
    hr = list->Initialize(kWscSecurityProviderAntivirus);
    if (FAILED(hr)) {
      return HresultError("Security Center: IWSCProductList::Initialize(antivirus)", hr);
    }
    LONG count = 0;
    hr = list->get_Count(&count);
    if (FAILED(hr)) {
      return HresultError("Security Center: IWSCProductList::get_Count", hr);
    }
    for (LONG i = 0; i < count; ++i) {
      ComPtr<IWscProductRaw> item;
      hr = list->get_Item(static_cast<ULONG>(i), item.Put());
      if (FAILED(hr)) {
        return HresultError("Security Center: IWSCProductList::get_Item", hr);
      }
      WscProduct p;
      Bstr name;
      hr = item->get_ProductName(name.Put());
      if (FAILED(hr)) {
        return HresultError("Security Center: IWscProduct::get_ProductName", hr);
      }
      CG_ASSIGN_OR_RETURN(p.name, name.Utf8());
      LONG state = -1;
      hr = item->get_ProductState(&state);
      if (FAILED(hr)) {
        return HresultError("Security Center: IWscProduct::get_ProductState", hr);
      }
      p.raw_state = static_cast<uint32_t>(state);
      p.state = StateOf(state);
      LONG signatures = -1;
      hr = item->get_SignatureStatus(&signatures);
      if (FAILED(hr)) {
        return HresultError("Security Center: IWscProduct::get_SignatureStatus", hr);
      }
      p.raw_signatures = static_cast<uint32_t>(signatures);
      p.signatures = SignaturesOf(signatures);
      Bstr stamp;
      // Optional: a product that never reported a state change has none.
      if (SUCCEEDED(item->get_ProductStateTimestamp(stamp.Put()))) {
        p.state_timestamp = stamp.Utf8().value_or(std::string());
      }
      products.push_back(std::move(p));
    }
    return OkStatus();
  }));
  return products;
}

// Present-but-NULL is nullopt; a missing property is an error of the whole object.
template <typename T>
Status Optional(Result<std::optional<T>> value, std::optional<T>& out) {
  if (!value.ok()) {
    return value.error();
  }
  out = *value;
  return OkStatus();
}

class WindowsSecurityCenter final : public SecurityCenter {
 public:
  Result<std::vector<WscProduct>> Products() const override { return ReadWscProducts(); }

  Result<std::vector<WmiAntivirusProduct>> WmiProducts() const override {
    std::vector<WmiAntivirusProduct> out;
    CG_RETURN_IF_ERROR(WmiQuery(
        L"ROOT\\SecurityCenter2",
        L"SELECT displayName, productState, timestamp, pathToSignedProductExe FROM "
        L"AntiVirusProduct",
        [&](const WmiObject& o) -> Status {
          WmiAntivirusProduct p;
          CG_ASSIGN_OR_RETURN(std::optional<std::string> name, o.String(L"displayName"));
          CG_ASSIGN_OR_RETURN(std::optional<uint32_t> state, o.Uint32(L"productState"));
          if (!state) {
            return MakeError(ErrorCode::kParse,
                             "AntiVirusProduct '" + name.value_or("") + "' has no productState");
          }
          p.name = name.value_or("");
          p.product_state = *state;
          CG_ASSIGN_OR_RETURN(std::optional<std::string> stamp, o.String(L"timestamp"));
          p.timestamp = stamp.value_or("");
          CG_ASSIGN_OR_RETURN(std::optional<std::string> exe, o.String(L"pathToSignedProductExe"));
          p.exe_path = exe.value_or("");
          out.push_back(std::move(p));
          return OkStatus();
        }));
    return out;
  }

  Result<std::optional<DefenderStatus>> Defender() const override {
    std::optional<DefenderStatus> status;
    const Status queried = WmiQuery(
        L"ROOT\\Microsoft\\Windows\\Defender", L"SELECT * FROM MSFT_MpComputerStatus",
        [&](const WmiObject& o) -> Status {
          DefenderStatus s;
          CG_RETURN_IF_ERROR(Optional(o.Bool(L"AMServiceEnabled"), s.service_enabled));
          CG_RETURN_IF_ERROR(Optional(o.Bool(L"AntivirusEnabled"), s.antivirus_enabled));
          CG_RETURN_IF_ERROR(Optional(o.Bool(L"RealTimeProtectionEnabled"), s.realtime_enabled));
          CG_RETURN_IF_ERROR(Optional(o.Uint32(L"AntivirusSignatureAge"), s.signature_age_days));
          CG_RETURN_IF_ERROR(
              Optional(o.Datetime(L"AntivirusSignatureLastUpdated"), s.signature_updated));
          std::optional<std::string> text;
          CG_RETURN_IF_ERROR(Optional(o.String(L"AntivirusSignatureVersion"), text));
          s.signature_version = text.value_or("");
          CG_RETURN_IF_ERROR(Optional(o.String(L"AMProductVersion"), text));
          s.product_version = text.value_or("");
          // Windows 10 1903 and later only.
          auto tamper = o.Bool(L"IsTamperProtected");
          if (tamper.ok()) {
            s.tamper_protected = *tamper;
          }
          status = std::move(s);
          return OkStatus();
        });
    if (!queried.ok()) {
      return queried.error();
    }
    return status;
  }
};

}  // namespace

std::unique_ptr<SecurityCenter> CreateWindowsSecurityCenter() {
  return std::make_unique<WindowsSecurityCenter>();
}

}  // namespace cg::platform::windows
