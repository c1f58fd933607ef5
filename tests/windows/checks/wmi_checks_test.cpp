// antivirus, os_license and office_license on the real Windows sources (Security Center, WMI,
// Software Licensing, the registry). Under Wine these APIs are missing or stubbed: the checks
// must then report `error` with the API's HRESULT in their facts — never `pass` without data,
// never a crash. On a real Windows machine they must decide from the data they got.
#include <gtest/gtest.h>
#include <windows.h>

#include <iostream>

#include "collectors/antivirus.h"
#include "collectors/office_license.h"
#include "collectors/os_license.h"
#include "platform/windows/clock.h"
#include "platform/windows/host.h"
#include "platform/windows/licensing.h"
#include "platform/windows/registry.h"
#include "platform/windows/security_center.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckStatus;

// Wine identifies itself through ntdll's wine_get_version.
bool UnderWine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

// The Windows members these checks use, wired from the real implementations.
platform::Platform WindowsPlatform() {
  platform::Platform p;
  auto registry = std::make_unique<platform::windows::WindowsRegistry>();
  p.host = std::make_unique<platform::windows::WindowsHost>(*registry);
  p.registry = std::move(registry);
  p.clock = std::make_unique<platform::windows::SystemClock>();
  p.security_center = platform::windows::CreateWindowsSecurityCenter();
  p.licensing = platform::windows::CreateWindowsLicensing();
  return p;
}

protocol::CheckResult Evaluate(const Check& check, platform::Platform& p) {
  auto policy = policy::ParsePolicy(json{{"checks", json::object()}});
  EXPECT_TRUE(policy.ok());
  const auto section = policy->Check(check.id());
  auto r = check.Evaluate(CheckContext{p, section});
  std::cout << check.id() << ": " << protocol::ToString(r.status) << ": " << r.summary << "\n"
            << "  facts: " << r.facts.dump() << "\n";
  return r;
}

// Every "hresult" anywhere in the facts.
void CollectHresults(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "hresult" && it->is_string()) {
        out.push_back(it->get<std::string>());
      } else {
        CollectHresults(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& x : j) {
      CollectHresults(x, out);
    }
  }
}

TEST(WmiChecksTest, AntivirusDecidesOnlyFromData) {
  auto p = WindowsPlatform();
  const auto r = Evaluate(AntivirusCheck(), p);
  const json& sources = r.facts["sources"];
  const bool any_source = sources.value("security_center", json()) == "read" ||
                          sources.value("wmi_security_center2", json()) == "read" ||
                          sources.value("defender", json()) == "read";
  if (!any_source) {
    EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
    std::vector<std::string> codes;
    CollectHresults(r.facts, codes);
    EXPECT_EQ(codes.size(), 3u) << r.facts.dump();
  }
  if (r.status == CheckStatus::kPass) {
    EXPECT_GT(r.facts["engines"].size(), 0u);
  }
  if (UnderWine()) {
    EXPECT_NE(r.status, CheckStatus::kPass) << r.summary;
  }
}

TEST(WmiChecksTest, OsLicenseNeverPassesWithoutActivationData) {
  auto p = WindowsPlatform();
  const auto r = Evaluate(OsLicenseCheck(), p);
  const bool activation_read = r.facts["licensing"].contains("products");
  if (!activation_read) {
    EXPECT_NE(r.status, CheckStatus::kPass) << r.summary;
    EXPECT_TRUE(r.facts["licensing"].contains("hresult")) << r.facts.dump();
  }
  if (UnderWine()) {
    EXPECT_NE(r.status, CheckStatus::kPass) << r.summary;
  }
}

TEST(WmiChecksTest, OfficeLicenseNeverPassesWithoutLicensingData) {
  auto p = WindowsPlatform();
  const auto r = Evaluate(OfficeLicenseCheck(), p);
  if (r.facts.value("licensing_sources", json::object())
          .value("SoftwareLicensingProduct", json()) != "read") {
    EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
    std::vector<std::string> codes;
    CollectHresults(r.facts, codes);
    EXPECT_FALSE(codes.empty()) << r.facts.dump();
  }
  if (UnderWine()) {
    EXPECT_NE(r.status, CheckStatus::kPass) << r.summary;
  }
}

}  // namespace
}  // namespace cg::collectors
