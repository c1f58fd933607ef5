// The OS-neutral filtering of the scan walkers (platform/scan_walker.h).
#include "platform/scan_walker.h"

#include <algorithm>

#include "common/text.h"

namespace cg::platform {

WalkFilter::WalkFilter(const WalkOptions& options, char separator)
    : include_(options.include), exclude_(options.exclude), separator_(separator) {
  std::string storage;
  std::string mr(Slashed(options.machine_root, storage));
  if (mr.empty()) {
    mr = "/";
  }
  while (mr.size() > 1 && mr.back() == '/') {
    mr.pop_back();
  }
  machine_root_ = mr == "/" ? "" : mr;
  for (const auto& e : options.skip_extensions) {
    std::string ext = AsciiLower(e);
    if (!ext.empty() && ext.front() == '.') {
      ext.erase(0, 1);
    }
    if (!ext.empty()) {
      extensions_.push_back(std::move(ext));
    }
  }
}

std::string_view WalkFilter::MachinePath(std::string_view host) const {
  if (machine_root_.empty() || !host.starts_with(machine_root_)) {
    return host;
  }
  const std::string_view rest = host.substr(machine_root_.size());
  if (rest.empty()) {
    return "/";
  }
  // Only at a component boundary: "/mnt/pc2" is not below "/mnt/pc".
  return rest.front() == '/' ? rest : host;
}

std::string_view WalkFilter::Slashed(std::string_view host, std::string& storage) const {
  if (separator_ == '/' || host.find(separator_) == std::string_view::npos) {
    return host;
  }
  storage.assign(host);
  std::replace(storage.begin(), storage.end(), separator_, '/');
  return storage;
}

bool WalkFilter::MatchesAny(const std::vector<std::string>& globs, std::string_view host) const {
  std::string storage;
  const std::string_view mp = MachinePath(Slashed(host, storage));
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return GlobMatch(g, mp); });
}

bool WalkFilter::SkippedExtension(std::string_view name) const {
  if (extensions_.empty()) {
    return false;
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return false;
  }
  const std::string ext = AsciiLower(name.substr(dot + 1));
  return std::find(extensions_.begin(), extensions_.end(), ext) != extensions_.end();
}

std::optional<SkipReason> WalkFilter::SkipFile(std::string_view host, std::string_view name) const {
  if (!exclude_.empty() && MatchesAny(exclude_, host)) {
    return SkipReason::kExcluded;
  }
  if (!include_.empty() && !MatchesAny(include_, host)) {
    return SkipReason::kNotIncluded;
  }
  if (SkippedExtension(name)) {
    return SkipReason::kExtension;
  }
  return std::nullopt;
}

bool WalkFilter::ExcludedDir(std::string_view host) const {
  if (exclude_.empty()) {
    return false;
  }
  std::string storage;
  const std::string_view mp = MachinePath(Slashed(host, storage));
  for (const auto& g : exclude_) {
    if (GlobMatch(g, mp)) {
      return true;
    }
    if (g.size() > 3 && g.ends_with("/**") &&
        GlobMatch(std::string_view(g).substr(0, g.size() - 3), mp)) {
      return true;
    }
  }
  return false;
}

}  // namespace cg::platform
