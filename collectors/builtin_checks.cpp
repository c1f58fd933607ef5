// RegisterBuiltinChecks: the explicit list of built-in checks, in report order (no static
// self-registration).
#include <memory>

#include "collectors/antivirus.h"
#include "collectors/check.h"
#include "collectors/office_license.h"
#include "collectors/os_license.h"
#include "collectors/password_age.h"
#include "collectors/screen_lock.h"
#include "collectors/yara.h"

namespace cg::collectors {

void RegisterBuiltinChecks(CheckRegistry& registry, const std::string& state_dir) {
  registry.Register(std::make_unique<AntivirusCheck>());
  registry.Register(std::make_unique<YaraCheck>(state_dir));
  registry.Register(std::make_unique<OsLicenseCheck>());
  registry.Register(std::make_unique<OfficeLicenseCheck>());
  registry.Register(std::make_unique<ScreenLockCheck>());
  registry.Register(std::make_unique<PasswordAgeCheck>());
}

}  // namespace cg::collectors
