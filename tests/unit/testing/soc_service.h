// The set-up the SocService tests share: the service over a real database (SQLite in a temporary
// directory, or the backend a parameterised test opened first), a test CA, a clock that is a
// variable of the test, and operator requests as HttpRequest objects answered without a
// network.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::testing {

// Base: ::testing::Test, or ::testing::TestWithParam<soc::storage_testing::Backend> for the
// tests that run on every backend (they open `db_` and `storage_` before StartService).
template <class Base = ::testing::Test>
class BasicSocServiceTest : public Base {
 protected:
  // Opens <dir_>/soc.db unless a storage is open already, creates a CA valid from `ca_from` and
  // the service with `config`. Call it through ASSERT_NO_FATAL_FAILURE.
  void StartService(SysTime ca_from, soc::SocConfig config = {}) {
    if (storage_ == nullptr) {
      auto storage = soc::OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
      ASSERT_TRUE(storage.ok()) << storage.error().ToString();
      storage_ = std::move(storage).value();
    }
    auto ca =
        protocol::CertificateAuthority::Create("Test CA", std::chrono::hours(24 * 3650), ca_from);
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    service_ = std::make_unique<soc::SocService>(
        *storage_, *ca_, [this] { return now_; }, std::move(config));
  }

  // A new operator token with `role`; "" (and a failed test) when it cannot be made.
  std::string OperatorToken(const std::string& name, const std::string& role) {
    auto token = service_->CreateOperatorToken(name, role, std::nullopt);
    EXPECT_TRUE(token.ok()) << token.error().ToString();
    return token.value_or("");
  }

  // An operator request with `token`, from a loopback peer; an empty answer when none came.
  protocol::HttpResponse OperatorCall(const std::string& method, const std::string& target,
                                      const std::string& token) {
    protocol::HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.peer_address = "127.0.0.1:40000";
    std::optional<protocol::HttpResponse> answer;
    service_->HandleOperator(
        std::move(r), [&](protocol::HttpResponse response) { answer = std::move(response); });
    return answer.value_or(protocol::HttpResponse{});
  }

  TempDir dir_;
  SysTime now_{};
  std::unique_ptr<soc::storage_testing::TestDatabase> db_;  // outlives the storage
  std::unique_ptr<soc::Storage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<soc::SocService> service_;
};

using SocServiceTest = BasicSocServiceTest<>;

}  // namespace cg::testing
