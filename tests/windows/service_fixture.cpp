// A minimal service for tests/windows/platform/service_test.cpp: `cg_win_service_fixture.exe
// NAME` runs as service NAME through RunAsService, with a cg::os::StopSource made before it
// as the agent makes one. When stopped it writes "stopped; stop source: WHY" to the file
// named by its first start argument (WHY: what the stop source reported, "none" if it did not
// report within 30 s of the stop token), then returns 0.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "platform/os/stop_source.h"
#include "platform/windows/service.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cg_win_service_fixture NAME\n");
    return 2;
  }
  auto source = cg::os::StopSource::Create();
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", source.error().ToString().c_str());
    return 1;
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<std::string> why;
  (*source)->Start([&](const std::string& w) {
    std::lock_guard lock(mutex);
    why = w;
    cv.notify_all();
  });
  cg::Status status = cg::platform::windows::RunAsService(
      argv[1], [&](std::stop_token stop, const std::vector<std::string>& args) {
        {
          std::mutex token_mutex;
          std::condition_variable_any token_cv;
          std::unique_lock lock(token_mutex);
          token_cv.wait(lock, stop, [] { return false; });
        }
        std::string seen = "none";
        {
          std::unique_lock lock(mutex);
          if (cv.wait_for(lock, std::chrono::seconds(30), [&] { return why.has_value(); })) {
            seen = *why;
          }
        }
        if (args.size() < 2) {
          return 3;
        }
        std::ofstream(std::filesystem::path(std::u8string(args[1].begin(), args[1].end())))
            << "stopped; stop source: " << seen;
        return 0;
      });
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error().ToString().c_str());
    return 1;
  }
  return 0;
}
