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
