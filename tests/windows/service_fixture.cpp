// A minimal service for tests/windows/platform/service_test.cpp and service_install_test.cpp:
// `cg_win_service_fixture.exe NAME` runs as service NAME through RunAsService, with a
// cg::os::StopSource made before it as the agent makes one. When stopped it writes "stopped; stop
// source: WHY" to the file named by its first start argument (WHY: what the stop source reported,
// "none" if it did not report within 30 s of the stop token), then returns 0. With a second start
// argument it first waits (up to 120 s) for that file to exist: a stop that takes as long as the
// test wants, during which the service must keep reporting STOP_PENDING progress.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "platform/os/stop_source.h"
#include "platform/windows/service.h"

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string_view(argv[2]) == "--fail")) {
    std::fprintf(stderr, "usage: cg_win_service_fixture NAME [--fail COUNT_FILE]\n");
    return 2;
  }
  if (argc == 4) {
    // A service that fails at once with exit code 7, counting its starts (one line each) in
    // COUNT_FILE: what the SCM's recovery actions act on.
    cg::Status status = cg::platform::windows::RunAsService(
        argv[1], [&](std::stop_token, const std::vector<std::string>&) {
          std::ofstream(argv[3], std::ios::app) << "started\n";
          return 7;
        });
    return status.ok() ? 0 : 1;
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
        if (args.size() >= 3) {
          const std::filesystem::path release(std::u8string(args[2].begin(), args[2].end()));
          for (int i = 0; i < 1200 && !std::filesystem::exists(release); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
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
