// Tests for cgctl/export.cpp: the `cgctl export status` table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cgctl/cgctl.h"

namespace cg::cgctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ExportStatusTest, ShowsEachSinksBacklogAndSaysWhenExportIsOff) {
  const json answer = {{"enabled", true},
                       {"sinks",
                        {{{"sink", "file"},
                          {"pending", 0},
                          {"oldest_pending", nullptr},
                          {"delivered_seq", 42},
                          {"delivered_at", "2026-12-02T10:00:00Z"}},
                         {{"sink", "syslog"},
                          {"pending", 17},
                          {"oldest_pending", "2026-12-02T09:58:00Z"},
                          {"delivered_seq", 25},
                          {"delivered_at", "2026-12-02T09:57:59Z"}}}}};
  const std::string text = FormatExportStatus(answer);
  EXPECT_THAT(text, HasSubstr("BACKLOG"));
  EXPECT_THAT(text, HasSubstr("syslog    17          2026-12-02T09:58:00Z"));
  EXPECT_THAT(text, HasSubstr("file      0           -"));
  EXPECT_THAT(FormatExportStatus({{"enabled", false}, {"sinks", json::array()}}),
              HasSubstr("not configured"));
  // What the SOC returns is shown escaped, never as terminal control sequences.
  const json hostile = {{"enabled", true}, {"sinks", {{{"sink", "x\x1b[2J"}, {"pending", 1}}}}};
  EXPECT_THAT(FormatExportStatus(hostile), Not(HasSubstr("\x1b")));
}

}  // namespace
}  // namespace cg::cgctl
