// Field names of the staff-account routes (protocol/api_paths.h), shared by cg-soc's handlers
// and cgctl (and the dashboard's script, which spells the same strings).
#pragma once

#include <string_view>

namespace cg::protocol::account_api {

// Requests.
inline constexpr const char* kAccount = "account";  // login name
inline constexpr const char* kPassword = "password";
inline constexpr const char* kCode = "code";                   // TOTP code
inline constexpr const char* kRecoveryCode = "recovery_code";  // instead of a TOTP code
inline constexpr const char* kSetupCode = "setup_code";
inline constexpr const char* kName = "name";
inline constexpr const char* kDisplayName = "display_name";
inline constexpr const char* kRole = "role";
inline constexpr const char* kResetPassword = "password";  // account reset: what to reset
inline constexpr const char* kResetTotp = "totp";
// Login: "browser" for the dashboard (a cookie session with a CSRF token), "cli" (the default)
// for a bearer token.
inline constexpr const char* kClient = "client";
inline constexpr const char* kClientBrowser = "browser";
inline constexpr const char* kClientCli = "cli";

// Answers.
inline constexpr const char* kToken = "token";  // a session's bearer token, given once
inline constexpr const char* kExpiresAt = "expires_at";
inline constexpr const char* kIdleTimeoutSeconds = "idle_timeout_seconds";
inline constexpr const char* kSetupExpiresAt = "setup_expires_at";
inline constexpr const char* kPasswordRequired = "password_required";
inline constexpr const char* kTotpSecret = "totp_secret";  // base32, during setup only
inline constexpr const char* kOtpauthUri = "otpauth_uri";
// The otpauth URI's QR code as a data:image/svg+xml;base64 URL (for an <img> under the CSP).
inline constexpr const char* kQrCode = "qr_code";
// A browser session's CSRF token (login and GET /api/v1/session answers).
inline constexpr const char* kCsrfToken = "csrf_token";
inline constexpr const char* kRecoveryCodes = "recovery_codes";
inline constexpr const char* kRecoveryCodesLeft = "recovery_codes_left";
inline constexpr const char* kAccounts = "accounts";
inline constexpr const char* kTokens = "operator_tokens";
inline constexpr const char* kEntries = "entries";

// The dashboard's session cookie and the header every change made with it must carry.
inline constexpr std::string_view kSessionCookie = "cg_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
// "1" on a request the page makes by itself (a periodic refresh): it does not count as use, so
// a page left open still ends after the idle timeout.
inline constexpr std::string_view kBackgroundHeader = "X-CG-Background";

// Audit log query parameters (GET /api/v1/audit).
inline constexpr const char* kQueryKind = "kind";  // "changes" | "reads"
inline constexpr const char* kQueryAccount = "account";
inline constexpr const char* kQueryAction = "action";
inline constexpr const char* kQuerySince = "since";
inline constexpr const char* kQueryUntil = "until";

}  // namespace cg::protocol::account_api
