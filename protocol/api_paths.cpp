#include "protocol/api_paths.h"

#include "protocol/http.h"

namespace cg::protocol::api {

std::string PathWithId(std::string_view pattern, std::string_view id) {
  constexpr std::string_view kSlot = "{id}";
  std::string path(pattern);
  const size_t at = path.find(kSlot);
  if (at != std::string::npos) {
    path.replace(at, kSlot.size(), UrlEncode(id));
  }
  return path;
}

}  // namespace cg::protocol::api
