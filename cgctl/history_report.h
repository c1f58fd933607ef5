// cgctl's status history and inspection report commands: `history ID`, `report inspection`
// and `report verify DIGEST`. The SOC computes and renders; these fetch, format and write.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "protocol/http.h"

namespace cg::cgctl {

// One call to the operator API: the SOC's answer whatever its status.
using RawCall = std::function<Result<protocol::HttpResponse>(const std::string& method,
                                                             const std::string& target)>;

// `cgctl history` as text: one line per status change, checks in order, newest last.
std::string FormatHistory(const nlohmann::json& answer);
// The same as CSV (RFC 4180, a header row; "" check: the device's overall status).
std::string HistoryCsv(const nlohmann::json& answer);
// "3d 4h", "5h 12m", "40s": how long an interval lasted.
std::string FormatDuration(int64_t seconds);

class HistoryReportCommands {
 public:
  // Adds `history` and `report` (with `inspection`, `download` and `verify`) to the command
  // line.
  void Register(CLI::App& app);
  // Runs the chosen command if it is one of these: its exit code; nullopt otherwise.
  // `csv_out`: the global --csv (history's own --csv does the same).
  std::optional<int> Run(const RawCall& call, bool json_out, bool csv_out = false);
  // Whether the chosen command prints a table (and so takes the global --csv).
  bool PrintsTable() const;

 private:
  int History(const RawCall& call, bool json, bool csv);
  int Inspection(const RawCall& call, bool json);
  int Verify(const RawCall& call, bool json, bool csv);
  int Download(const RawCall& call, bool json);
  // Writes a report document to --output or standard output and says which report it is.
  int WriteDocument(const protocol::HttpResponse& r, const std::string& output, bool json);

  CLI::App* history_ = nullptr;
  CLI::App* report_ = nullptr;
  CLI::App* inspection_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* download_ = nullptr;
  std::string device_id_, from_, to_, check_;
  bool csv_ = false;
  int limit_ = 20;
  std::string group_, report_from_, report_to_, format_ = "html", lang_ = "vi", output_;
  std::string digest_;
  std::string download_id_, download_output_, download_format_, download_lang_;
};

}  // namespace cg::cgctl
