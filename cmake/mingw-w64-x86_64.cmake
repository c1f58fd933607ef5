# Cross-build for 64-bit Windows with Debian's mingw-w64 (package g++-mingw-w64-x86-64).
#   cmake -S . -B build-win -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#         -DCG_MINGW_DEPS=$(scripts/build-mingw-deps.sh)
# The -posix compilers use winpthreads, which std::thread/std::mutex need (the -win32 ones
# have no C++11 threads). The runtime is linked statically: cg-agent.exe and the test
# programs need no libstdc++/libgcc/libwinpthread DLLs next to them. Test programs run
# under Wine through CMAKE_CROSSCOMPILING_EMULATOR (CTest and gtest discovery use it).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CG_MINGW_HOST x86_64-w64-mingw32)

set(CMAKE_C_COMPILER ${CG_MINGW_HOST}-gcc-posix)
set(CMAKE_CXX_COMPILER ${CG_MINGW_HOST}-g++-posix)
set(CMAKE_RC_COMPILER ${CG_MINGW_HOST}-windres)
set(CMAKE_AR ${CG_MINGW_HOST}-gcc-ar-posix CACHE FILEPATH "")
set(CMAKE_RANLIB ${CG_MINGW_HOST}-gcc-ranlib-posix CACHE FILEPATH "")

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# Libraries and headers come from the mingw sysroot and the deps prefix
# (scripts/build-mingw-deps.sh), never from the build machine's /usr.
set(CMAKE_FIND_ROOT_PATH /usr/${CG_MINGW_HOST})
if(CG_MINGW_DEPS)
  list(APPEND CMAKE_FIND_ROOT_PATH ${CG_MINGW_DEPS})
elseif(DEFINED ENV{CG_MINGW_DEPS})
  list(APPEND CMAKE_FIND_ROOT_PATH $ENV{CG_MINGW_DEPS})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Debian's wine64 package installs the 64-bit loader as /usr/lib/wine/wine64 (the `wine`
# wrapper complains about the missing 32-bit part on every run). cmake/wine-run.sh runs it in
# a throw-away prefix inside the build tree, made on first use and set to Windows 10.
find_program(CG_WINE NAMES wine64 PATHS /usr/lib/wine NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
find_program(CG_WINESERVER NAMES wineserver64 wineserver PATHS /usr/lib/wine NO_DEFAULT_PATH
             NO_CMAKE_FIND_ROOT_PATH)
if(CG_WINE AND CG_WINESERVER)
  if(NOT CG_WINEPREFIX)
    set(CG_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix" CACHE PATH "Wine prefix of the tests")
  endif()
  # A pristine prefix, made once and copied into every prefix the tests make (wine-run.sh).
  if(NOT CG_WINEPREFIX_TEMPLATE)
    set(CG_WINEPREFIX_TEMPLATE "${CMAKE_BINARY_DIR}/wineprefix-template" CACHE PATH
        "Pristine Wine prefix copied into the tests' prefixes")
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR
      env "CG_WINEPREFIX=${CG_WINEPREFIX}" "CG_WINEPREFIX_TEMPLATE=${CG_WINEPREFIX_TEMPLATE}"
          "CG_WINE=${CG_WINE}" "CG_WINESERVER=${CG_WINESERVER}"
          ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh)
endif()
