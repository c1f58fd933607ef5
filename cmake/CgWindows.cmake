# The Windows build (cross-built with cmake/mingw-w64-x86_64.cmake, or natively with
# vcpkg + MSVC: docs/windows.md). Included by the top-level CMakeLists.txt when WIN32; it
# defines the same imported targets the Linux build gets from find_package, so the component
# CMakeLists.txt files are shared, and builds only what a counter PC needs: no soc/, no cgctl.
#
# Cross-build inputs:
#   CG_MINGW_DEPS   prefix with the static mingw OpenSSL, libyara and SQLite
#                   (printed by scripts/build-mingw-deps.sh)
#   CG_WITH_YARA    build the yara check against libyara (ON by default)
option(CG_WITH_YARA "Link libyara (the yara check) into the Windows agent" ON)

# Windows 10 is the oldest version the agent supports; Asio and the Win32 headers key their
# API surface on it.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 NOMINMAX WIN32_LEAN_AND_MEAN)

if(MSVC)
  # The sources (tests with Vietnamese names) are UTF-8. cg_settings carries GCC's warning
  # flags; MSVC gets its own equivalents.
  add_compile_options(/utf-8)
  set_property(TARGET cg_settings PROPERTY INTERFACE_COMPILE_OPTIONS
                                           /W4 /permissive- $<$<BOOL:${CG_WERROR}>:/WX>)
  # Native build: vcpkg's manifest (vcpkg.json) provides every dependency as a CMake package.
  find_package(Threads REQUIRED)
  find_package(Boost REQUIRED)
  find_package(OpenSSL 3 REQUIRED)
  find_package(nlohmann_json 3 REQUIRED)
  find_package(spdlog REQUIRED)
  find_package(CLI11 REQUIRED CONFIG)
  find_package(SQLite3 REQUIRED)
  find_package(GTest REQUIRED)
  if(CG_WITH_YARA)
    # vcpkg's yara port exports a CMake package (static, with OpenSSL for the hash module).
    find_package(unofficial-libyara CONFIG REQUIRED)
    add_library(PkgConfig::YARA INTERFACE IMPORTED GLOBAL)
    set_property(TARGET PkgConfig::YARA PROPERTY INTERFACE_LINK_LIBRARIES
                                                 unofficial::libyara::libyara)
  endif()
else()
  if(NOT CG_MINGW_DEPS AND DEFINED ENV{CG_MINGW_DEPS})
    set(CG_MINGW_DEPS "$ENV{CG_MINGW_DEPS}")
  endif()
  if(NOT CG_MINGW_DEPS OR NOT EXISTS "${CG_MINGW_DEPS}/include/openssl/ssl.h")
    message(FATAL_ERROR "CG_MINGW_DEPS must name the prefix printed by scripts/build-mingw-deps.sh "
                        "(got '${CG_MINGW_DEPS}')")
  endif()
  set(CG_MINGW_DEPS "${CG_MINGW_DEPS}" CACHE PATH "mingw OpenSSL + libyara prefix" FORCE)

  find_package(Threads REQUIRED)

  # Debian's header-only libraries, reached through a directory of links to just those
  # headers: -I/usr/include would put the build machine's Linux headers (sys/, netinet/,
  # the glibc ones) in front of the mingw ones.
  set(CG_HOST_HEADERS "${CMAKE_BINARY_DIR}/host-headers")
  file(MAKE_DIRECTORY "${CG_HOST_HEADERS}")
  foreach(dir boost nlohmann spdlog fmt CLI)
    if(NOT EXISTS "/usr/include/${dir}")
      message(FATAL_ERROR "/usr/include/${dir} missing: install the Debian -dev packages "
                          "(scripts/lib.sh CG_PACKAGES)")
    endif()
    file(CREATE_LINK "/usr/include/${dir}" "${CG_HOST_HEADERS}/${dir}" SYMBOLIC)
  endforeach()

  function(cg_header_target name)
    add_library(${name} INTERFACE IMPORTED GLOBAL)
    set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CG_HOST_HEADERS}"
                                             INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CG_HOST_HEADERS}")
  endfunction()

  # Asio needs Winsock (ws2_32, mswsock for AcceptEx/ConnectEx).
  cg_header_target(Boost::headers)
  set_property(TARGET Boost::headers PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 mswsock)
  cg_header_target(nlohmann_json::nlohmann_json)
  # Debian's spdlog is a compiled library against an external fmt; here both are header-only.
  cg_header_target(spdlog::spdlog)
  set_property(TARGET spdlog::spdlog PROPERTY INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY)
  cg_header_target(CLI11::CLI11)

  # Static OpenSSL from scripts/build-mingw-deps.sh; on Windows it calls Winsock, the
  # certificate store (crypt32) and a few user32/advapi32 functions (its entropy and the
  # console password prompt).
  add_library(OpenSSL::Crypto STATIC IMPORTED GLOBAL)
  set_target_properties(OpenSSL::Crypto PROPERTIES
    IMPORTED_LOCATION "${CG_MINGW_DEPS}/lib/libcrypto.a"
    INTERFACE_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include"
    INTERFACE_LINK_LIBRARIES "ws2_32;crypt32;user32;advapi32")
  add_library(OpenSSL::SSL STATIC IMPORTED GLOBAL)
  set_target_properties(OpenSSL::SSL PROPERTIES
    IMPORTED_LOCATION "${CG_MINGW_DEPS}/lib/libssl.a"
    INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)

  # SQLite (the yara check's scan cache), static, from the same script.
  add_library(SQLite::SQLite3 STATIC IMPORTED GLOBAL)
  set_target_properties(SQLite::SQLite3 PROPERTIES
    IMPORTED_LOCATION "${CG_MINGW_DEPS}/lib/libsqlite3.a"
    INTERFACE_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include")

  if(CG_WITH_YARA)
    if(NOT EXISTS "${CG_MINGW_DEPS}/lib/libyara.a")
      message(FATAL_ERROR "${CG_MINGW_DEPS}/lib/libyara.a missing (scripts/build-mingw-deps.sh)")
    endif()
    # The name the Linux build gets from pkg_check_modules(YARA ... IMPORTED_TARGET yara).
    add_library(PkgConfig::YARA STATIC IMPORTED GLOBAL)
    set_target_properties(PkgConfig::YARA PROPERTIES
      IMPORTED_LOCATION "${CG_MINGW_DEPS}/lib/libyara.a"
      INTERFACE_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include"
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CG_MINGW_DEPS}/include"
      INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)
  endif()

  if(CG_BUILD_TESTS)
    # Debian's googletest package ships the GoogleTest/GMock sources for exactly this: built
    # with the cross compiler as part of this tree.
    set(gtest_force_shared_crt OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(/usr/src/googletest "${CMAKE_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL)
    foreach(lib gtest gtest_main gmock gmock_main)
      if(NOT TARGET GTest::${lib})
        add_library(GTest::${lib} ALIAS ${lib})
      endif()
    endforeach()
  endif()
endif()

# Resource scripts (the event log's message table in cg-agent.exe).
enable_language(RC)

# The component libraries, all of which cross-compile since issue 12's "make room" step.
add_subdirectory(common)
add_subdirectory(platform)
# The registry, services and event log (advapi32), NetUser* (netapi32), RtlGetVersion (ntdll).
target_link_libraries(cg_platform PRIVATE advapi32 netapi32 ntdll)
# WMI and Security Center through COM (platform/windows/{com,wmi,security_center,licensing}).
target_link_libraries(cg_platform PRIVATE ole32 oleaut32 wbemuuid uuid)
add_subdirectory(policy)
add_subdirectory(protocol)
add_subdirectory(collectors)
add_subdirectory(agent)

# The Windows event log's message table (platform/windows/event_messages.mc) goes into
# cg-agent.exe, which the event source names as its message file.
if(NOT MSVC)
  set(CG_WINDMC ${CG_MINGW_HOST}-windmc)
else()
  set(CG_WINDMC mc)
endif()
set(CG_EVENT_MESSAGES_DIR "${CMAKE_BINARY_DIR}/event_messages")
add_custom_command(
  OUTPUT "${CG_EVENT_MESSAGES_DIR}/event_messages.rc" "${CG_EVENT_MESSAGES_DIR}/event_messages.h"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CG_EVENT_MESSAGES_DIR}"
  COMMAND ${CG_WINDMC} -r "${CG_EVENT_MESSAGES_DIR}" -h "${CG_EVENT_MESSAGES_DIR}"
          "${PROJECT_SOURCE_DIR}/platform/windows/event_messages.mc"
  DEPENDS "${PROJECT_SOURCE_DIR}/platform/windows/event_messages.mc"
  COMMENT "windmc event_messages.mc"
  VERBATIM)
add_custom_target(cg_event_messages DEPENDS "${CG_EVENT_MESSAGES_DIR}/event_messages.rc"
                                             "${CG_EVENT_MESSAGES_DIR}/event_messages.h")
target_sources(cg-agent PRIVATE "${CG_EVENT_MESSAGES_DIR}/event_messages.rc")
add_dependencies(cg-agent cg_event_messages)
target_include_directories(cg-agent PRIVATE "${CG_EVENT_MESSAGES_DIR}")

# The MSI (installer/windows/counterguard-agent.wxs), made by Debian's wixl from the built
# cg-agent.exe (stripped): `cmake --build build-win --target counterguard-agent-msi` with the
# SOC's CA and the policy public key named at configure time (docs/windows.md, "Roll-out").
# installer/windows/build-msi.cmake is the recipe, shared with the MSI test (which builds its
# own MSIs with its SOC's test CA and policy key).
set(CG_MSI_VERSION "${PROJECT_VERSION}" CACHE STRING
    "ProductVersion of the MSI (major.minor.build; raise it for every release: upgrades need it)")
set(CG_MSI_SOC_CA "" CACHE FILEPATH "The SOC's ca.pem (cg-soc init) installed by the MSI")
set(CG_MSI_POLICY_KEY "" CACHE FILEPATH "The policy public key (.pub) installed by the MSI")
find_program(CG_WIXL wixl)
set(CG_MSI_RECIPE "${PROJECT_SOURCE_DIR}/installer/windows/build-msi.cmake")
set(CG_MSI "${CMAKE_BINARY_DIR}/counterguard-agent-${CG_MSI_VERSION}.msi")
if(NOT CG_WIXL)
  add_custom_target(counterguard-agent-msi
    COMMAND ${CMAKE_COMMAND} -E echo "wixl not found: apt-get install wixl" COMMAND false)
elseif(NOT CG_MSI_SOC_CA OR NOT CG_MSI_POLICY_KEY)
  add_custom_target(counterguard-agent-msi
    COMMAND ${CMAKE_COMMAND} -E echo
            "configure with -DCG_MSI_SOC_CA=ca.pem -DCG_MSI_POLICY_KEY=policy.pub to build the MSI"
    COMMAND false)
else()
  add_custom_command(
    OUTPUT "${CG_MSI}"
    COMMAND ${CMAKE_COMMAND} -DAGENT_EXE=$<TARGET_FILE:cg-agent> -DSOC_CA=${CG_MSI_SOC_CA}
            -DPOLICY_KEY=${CG_MSI_POLICY_KEY} -DVERSION=${CG_MSI_VERSION} -DOUTPUT=${CG_MSI}
            -DWIXL=${CG_WIXL} -DSTRIP=${CMAKE_STRIP} -P ${CG_MSI_RECIPE}
    DEPENDS cg-agent "${CG_MSI_RECIPE}" "${PROJECT_SOURCE_DIR}/installer/windows/counterguard-agent.wxs"
            "${CG_MSI_SOC_CA}" "${CG_MSI_POLICY_KEY}"
    COMMENT "wixl counterguard-agent-${CG_MSI_VERSION}.msi"
    VERBATIM)
  add_custom_target(counterguard-agent-msi DEPENDS "${CG_MSI}")
endif()

if(CG_BUILD_TESTS)
  enable_testing()
  add_subdirectory(tests/windows)
endif()
