// Spool entries with checksums, the byte bound and its drop order, and the drop/corruption
// counters that end up in reports and in `cg-agent status`.
#include "agent/spool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "platform/os/files.h"

namespace cg::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kMagic = "CGSPOOL1";
constexpr size_t kMaxHeader = 128;
constexpr const char* kCountersFile = "counters.json";

char KindLetter(SpoolKind k) { return k == SpoolKind::kSecurity ? 's' : 'p'; }

// "<20 digits>-<p|s>-<uuid>.rep"
bool ParseName(const std::string& name, SpoolEntry& e) {
  if (name.size() != 20 + 1 + 1 + 1 + 36 + 4 || !name.ends_with(".rep") || name[20] != '-' ||
      name[22] != '-' || (name[21] != 'p' && name[21] != 's')) {
    return false;
  }
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + 20, seq);
  if (ec != std::errc() || end != name.data() + 20 || !IsUuid(name.substr(23, 36))) {
    return false;
  }
  e.seq = seq;
  e.kind = name[21] == 's' ? SpoolKind::kSecurity : SpoolKind::kPosture;
  e.report_id = name.substr(23, 36);
  e.file = name;
  return true;
}

std::string Header(std::string_view body) {
  return std::string(kMagic) + " " + std::to_string(body.size()) + " " + Sha256Hex(body) + "\n";
}

// The body length a header announces, or nullopt when the header is not one of ours.
std::optional<uint64_t> HeaderLength(std::string_view header_line) {
  if (!header_line.starts_with(kMagic) || header_line.size() < kMagic.size() + 2) {
    return std::nullopt;
  }
  std::string_view rest = header_line.substr(kMagic.size() + 1);
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || end == rest.data() || *end != ' ') {
    return std::nullopt;
  }
  return n;
}

// First line of a file (at most kMaxHeader bytes).
std::string FirstLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  line.resize(kMaxHeader);
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<size_t>(in.gcount()));
  const size_t nl = line.find('\n');
  return nl == std::string::npos ? std::string() : line.substr(0, nl + 1);
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

SpoolKind KindOf(const protocol::Report& report) {
  if (!report.events.empty()) {
    return SpoolKind::kSecurity;
  }
  for (const auto& check : report.checks) {
    if (check.id == "yara" && check.status == protocol::CheckStatus::kFail) {
      return SpoolKind::kSecurity;
    }
    if (check.remediation.is_object() && !check.remediation.value("dry_run", true)) {
      return SpoolKind::kSecurity;
    }
  }
  return SpoolKind::kPosture;
}

Status Spool::Prepare() const {
  CG_RETURN_IF_ERROR(EnsureDirectory(dir_, 0700));
  return OkStatus();
}

Result<SpoolCounters> Spool::Counters() const {
  SpoolCounters c;
  const std::string path = dir_ + "/" + kCountersFile;
  if (!FileExists(path)) {
    return c;
  }
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 64u << 10));
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    // Written atomically, so this is damage from outside; start counting again, loudly.
    spdlog::warn("{}: unreadable, spool counters restart from zero", path);
    return c;
  }
  c.dropped_posture = Int(j, "dropped_posture");
  c.dropped_security = Int(j, "dropped_security");
  c.corrupt = Int(j, "corrupt");
  c.rejected = Int(j, "rejected");
  c.reported_dropped_posture = Int(j, "reported_dropped_posture");
  c.reported_dropped_security = Int(j, "reported_dropped_security");
  c.reported_corrupt = Int(j, "reported_corrupt");
  c.reported_rejected = Int(j, "reported_rejected");
  return c;
}

Status Spool::SaveCounters(const SpoolCounters& c) const {
  const json j = {{"dropped_posture", c.dropped_posture},
                  {"dropped_security", c.dropped_security},
                  {"corrupt", c.corrupt},
                  {"rejected", c.rejected},
                  {"reported_dropped_posture", c.reported_dropped_posture},
                  {"reported_dropped_security", c.reported_dropped_security},
                  {"reported_corrupt", c.reported_corrupt},
                  {"reported_rejected", c.reported_rejected}};
  return WriteFileAtomic(dir_ + "/" + kCountersFile, j.dump() + "\n", 0600);
}

Result<std::vector<SpoolEntry>> Spool::List(bool repair) {
  std::vector<SpoolEntry> entries;
  std::vector<SpoolEntry> damaged;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    const std::string name = item.path().filename().string();
    std::error_code file_ec;
    if (!item.is_regular_file(file_ec)) {
      continue;  // corrupt/, rejected/
    }
    if (name.starts_with(".") && name.find(".tmp") != std::string::npos) {
      if (repair) {
        fs::remove(item.path(), file_ec);  // an interrupted write: never renamed, never spooled
      }
      continue;
    }
    SpoolEntry e;
    if (!ParseName(name, e)) {
      continue;  // counters.json, foreign files
    }
    e.bytes = item.file_size(file_ec);
    if (file_ec) {
      continue;  // removed meanwhile
    }
    if (repair) {
      const std::string header = FirstLine(item.path().string());
      const auto length = HeaderLength(header);
      if (!length || header.size() + *length != e.bytes) {
        damaged.push_back(e);
        continue;
      }
    }
    entries.push_back(std::move(e));
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, "list " + dir_ + ": " + ec.message());
  }
  for (const auto& e : damaged) {
    spdlog::warn("spool entry {} is truncated or damaged; moved to {}/corrupt", e.file, dir_);
    CG_RETURN_IF_ERROR(MoveAside(e, "corrupt"));
  }
  std::sort(entries.begin(), entries.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.seq < b.seq; });
  return entries;
}

Result<std::pair<size_t, uint64_t>> Spool::Usage() {
  CG_ASSIGN_OR_RETURN(auto entries, List(/*repair=*/false));
  uint64_t bytes = 0;
  for (const auto& e : entries) {
    bytes += e.bytes;
  }
  return std::pair<size_t, uint64_t>(entries.size(), bytes);
}

Result<std::string> Spool::Read(const SpoolEntry& entry) {
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(dir_ + "/" + entry.file, max_bytes_ + 4096));
  const size_t nl = text.find('\n');
  const std::string_view header = nl == std::string::npos || nl >= kMaxHeader
                                      ? std::string_view()
                                      : std::string_view(text).substr(0, nl + 1);
  std::string_view body = std::string_view(text).substr(header.size());
  if (header.empty() || header != Header(body)) {
    spdlog::warn("spool entry {} fails its checksum; moved to {}/corrupt", entry.file, dir_);
    CG_RETURN_IF_ERROR(MoveAside(entry, "corrupt"));
    return MakeError(ErrorCode::kParse, "spool entry " + entry.file + " is corrupt (moved aside)");
  }
  return std::string(body);
}

Status Spool::Remove(const SpoolEntry& entry) {
  std::error_code ec;
  fs::remove(dir_ + "/" + entry.file, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "remove " + dir_ + "/" + entry.file + ": " + ec.message());
  }
  return OkStatus();
}

Status Spool::Reject(const SpoolEntry& entry, const std::string& reason) {
  spdlog::error("report {} refused by the SOC for good ({}); moved to {}/rejected", entry.report_id,
                reason, dir_);
  return MoveAside(entry, "rejected");
}

Status Spool::MoveAside(const SpoolEntry& entry, const char* subdir) {
  const std::string target_dir = dir_ + "/" + subdir;
  CG_RETURN_IF_ERROR(EnsureDirectory(target_dir, 0700));
  std::error_code ec;
  fs::rename(dir_ + "/" + entry.file, target_dir + "/" + entry.file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return MakeError(ErrorCode::kIo,
                     "move " + entry.file + " to " + target_dir + ": " + ec.message());
  }
  CG_ASSIGN_OR_RETURN(auto c, Counters());
  if (std::string_view(subdir) == "corrupt") {
    ++c.corrupt;
  } else {
    ++c.rejected;
  }
  return SaveCounters(c);
}

Status Spool::Put(protocol::Report& report, SysTime now) {
  CG_RETURN_IF_ERROR(Prepare());
  CG_ASSIGN_OR_RETURN(auto entries, List(/*repair=*/true));
  CG_ASSIGN_OR_RETURN(auto counters, Counters());

  // The kind follows what the report says about the device, not the spool's own bookkeeping
  // events added below (the totals travel in every later such event anyway).
  const SpoolKind kind = KindOf(report);
  // Tell the SOC what it has not heard of yet (the counts since the last report that said so);
  // marked as told only once this report is durably in the spool.
  SpoolCounters told = counters;
  const std::string time = FormatRfc3339(now);
  const int64_t new_posture = counters.dropped_posture - counters.reported_dropped_posture;
  const int64_t new_security = counters.dropped_security - counters.reported_dropped_security;
  if ((new_posture > 0 || new_security > 0) &&
      report.events.size() < protocol::kMaxEventsPerReport) {
    report.events.push_back({"spool_dropped",
                             time,
                             {{"posture_reports", new_posture},
                              {"security_reports", new_security},
                              {"total_posture_reports", counters.dropped_posture},
                              {"total_security_reports", counters.dropped_security},
                              {"max_bytes", max_bytes_}}});
    told.reported_dropped_posture = counters.dropped_posture;
    told.reported_dropped_security = counters.dropped_security;
  }
  const int64_t new_corrupt = counters.corrupt - counters.reported_corrupt;
  const int64_t new_rejected = counters.rejected - counters.reported_rejected;
  if ((new_corrupt > 0 || new_rejected > 0) &&
      report.events.size() < protocol::kMaxEventsPerReport) {
    report.events.push_back({"spool_damaged",
                             time,
                             {{"corrupt_entries", new_corrupt},
                              {"rejected_reports", new_rejected},
                              {"total_corrupt_entries", counters.corrupt},
                              {"total_rejected_reports", counters.rejected}}});
    told.reported_corrupt = counters.corrupt;
    told.reported_rejected = counters.rejected;
  }

  const std::string body = protocol::ToJson(report).dump();
  const std::string data = Header(body) + body;
  if (data.size() > max_bytes_) {
    return MakeError(ErrorCode::kTooLarge, "report of " + std::to_string(data.size()) +
                                               " bytes exceeds the spool bound of " +
                                               std::to_string(max_bytes_) + " bytes");
  }

  // Make room: posture snapshots oldest first (a new posture report supersedes them all; a new
  // security report keeps the newest posture), then security reports oldest first.
  uint64_t used = 0;
  for (const auto& e : entries) {
    used += e.bytes;
  }
  std::vector<const SpoolEntry*> victims;
  const SpoolEntry* newest_posture = nullptr;
  for (const auto& e : entries) {
    if (e.kind == SpoolKind::kPosture) {
      newest_posture = &e;
    }
  }
  for (const auto pass : {SpoolKind::kPosture, SpoolKind::kSecurity}) {
    for (const auto& e : entries) {
      if (used + data.size() <= max_bytes_) {
        break;
      }
      if (e.kind != pass ||
          (pass == SpoolKind::kPosture && kind == SpoolKind::kSecurity && &e == newest_posture)) {
        continue;
      }
      victims.push_back(&e);
      used -= e.bytes;
    }
  }
  if (used + data.size() > max_bytes_ && newest_posture != nullptr &&
      std::find(victims.begin(), victims.end(), newest_posture) == victims.end()) {
    victims.push_back(newest_posture);  // the last resort: even the newest posture snapshot
    used -= newest_posture->bytes;
  }
  const uint64_t seq = entries.empty() ? 1 : entries.back().seq + 1;
  char name[96];
  std::snprintf(name, sizeof(name), "%020llu-%c-%s.rep", static_cast<unsigned long long>(seq),
                KindLetter(kind), report.report_id.c_str());
  if (!IsUuid(report.report_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "spool: report id is not a UUID");
  }
  if (!victims.empty()) {
    // Full spool: the space is needed first. Each drop is counted durably before the next step.
    for (const SpoolEntry* v : victims) {
      CG_RETURN_IF_ERROR(Remove(*v));
      auto& dropped =
          v->kind == SpoolKind::kPosture ? counters.dropped_posture : counters.dropped_security;
      auto& dropped_told =
          v->kind == SpoolKind::kPosture ? told.dropped_posture : told.dropped_security;
      ++dropped;
      ++dropped_told;
      spdlog::warn("spool full ({} bytes): dropped {} report {}", max_bytes_,
                   v->kind == SpoolKind::kPosture ? "posture" : "security", v->report_id);
    }
    CG_RETURN_IF_ERROR(SaveCounters(counters));
  }
  // A failed write (disk full) leaves the spool as it was, apart from drops already counted.
  CG_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/" + name, data, 0600));
  if (told.reported_dropped_posture == counters.reported_dropped_posture &&
      told.reported_dropped_security == counters.reported_dropped_security &&
      told.reported_corrupt == counters.reported_corrupt &&
      told.reported_rejected == counters.reported_rejected) {
    return OkStatus();
  }
  return SaveCounters(told);
}

}  // namespace cg::agent
