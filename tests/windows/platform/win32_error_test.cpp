// The one Win32 error helper: the code decides the ErrorCode and is always in the message.
#include "platform/windows/win32_error.h"

// clang-format off
#include <windows.h>
#include <lm.h>
// clang-format on

#include <gtest/gtest.h>

namespace cg::platform::windows {
namespace {

struct Case {
  uint32_t code;
  ErrorCode expected;
};

TEST(Win32ErrorTest, CodesMapToErrorCodes) {
  const Case cases[] = {
      {ERROR_FILE_NOT_FOUND, ErrorCode::kNotFound},
      {ERROR_PATH_NOT_FOUND, ErrorCode::kNotFound},
      {NERR_UserNotFound, ErrorCode::kNotFound},
      {ERROR_ACCESS_DENIED, ErrorCode::kPermissionDenied},
      {ERROR_INVALID_PARAMETER, ErrorCode::kInvalidArgument},
      {ERROR_MORE_DATA, ErrorCode::kTooLarge},
      {ERROR_CALL_NOT_IMPLEMENTED, ErrorCode::kUnavailable},
      {ERROR_INVALID_LEVEL, ErrorCode::kUnavailable},
      {ERROR_SHARING_VIOLATION, ErrorCode::kConflict},
      {ERROR_DISK_FULL, ErrorCode::kIo},
      {123456, ErrorCode::kIo},
  };
  for (const Case& c : cases) {
    const Error e = Win32Error("opening HKLM\\SOFTWARE\\X", c.code);
    EXPECT_EQ(e.code, c.expected) << c.code;
    EXPECT_EQ(e.message.rfind("opening HKLM\\SOFTWARE\\X", 0), 0u) << e.message;
    EXPECT_NE(e.message.find("(Win32 error " + std::to_string(c.code) + ")"), std::string::npos)
        << e.message;
  }
}

TEST(Win32ErrorTest, LastErrorIsRead) {
  SetLastError(ERROR_ACCESS_DENIED);
  const Error e = LastWin32Error("CreateFileW");
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(e.message.find("(Win32 error 5)"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace cg::platform::windows
