// Groups' display names (issue 16) on the operator port: GET /api/v1/groups lists every group
// (with devices or with a name) and its name; POST /api/v1/group-names sets one (admin), a null
// or empty display_name clears it. Field names shared by cg-soc, cgctl and the dashboard.
#pragma once

namespace cg::protocol::group_api {

inline constexpr const char* kGroups = "groups";
inline constexpr const char* kGroup = "group";
inline constexpr const char* kDisplayName = "display_name";  // NFC; null when none is set
inline constexpr const char* kSetBy = "set_by";
inline constexpr const char* kSetAt = "set_at";            // RFC 3339
inline constexpr const char* kHasDevices = "has_devices";  // whether any device is enrolled in it
inline constexpr const char* kCleared = "cleared";  // a clear: whether there was a name to clear

}  // namespace cg::protocol::group_api
