# One INTERFACE target carries the language level and warning flags for project code
# (osquery's cxx_settings); third-party headers are included as SYSTEM so -Werror only
# judges our own code.
add_library(cg_settings INTERFACE)
target_compile_features(cg_settings INTERFACE cxx_std_20)
target_compile_options(cg_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2
  # -Wnull-dereference is left out: at -O2 it fires inside libstdc++ and CLI11 headers.
  $<$<BOOL:${CG_WERROR}>:-Werror>)
target_include_directories(cg_settings INTERFACE ${PROJECT_SOURCE_DIR})

# Test programs (tests/unit, tests/integration, tests/windows; not tests/bench) are compiled
# without optimisation and with line tables only: the code under test is in the project's
# libraries, built with the build type's flags, and a test file at -O2 -g costs two to three
# times the compile time (tests/unit/soc/service_test.cpp: 83.6 s of CPU at -O2 -g, 27.2 s at
# -O0 -g, 24.3 s at -O0 -g1; measured 2026-12-03). Empty it for optimised test programs.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(CG_TEST_COMPILE_OPTIONS "-O0;-g1" CACHE STRING
      "Compile options of the test programs, after the build type's (empty: the build type's)")
endif()
