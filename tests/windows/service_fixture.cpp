// A minimal service for tests/windows/platform/service_test.cpp: `cg_win_service_fixture.exe
// NAME` runs as service NAME through RunAsService; when stopped it writes "stopped" to the
// file named by its first start argument, then returns 0.
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "platform/windows/service.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cg_win_service_fixture NAME\n");
    return 2;
  }
  cg::Status status = cg::platform::windows::RunAsService(
      argv[1], [](std::stop_token stop, const std::vector<std::string>& args) {
        std::mutex mutex;
        std::condition_variable_any cv;
        std::unique_lock lock(mutex);
        cv.wait(lock, stop, [] { return false; });
        if (args.size() < 2) {
          return 3;
        }
        std::ofstream(std::filesystem::path(std::u8string(args[1].begin(), args[1].end())))
            << "stopped";
        return 0;
      });
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error().ToString().c_str());
    return 1;
  }
  return 0;
}
