# Makes the Windows agent's MSI from a built cg-agent.exe, the SOC's CA and the policy public
# key: the one recipe behind the `counterguard-agent-msi` target (cmake/CgWindows.cmake) and
# the MSI test (tests/windows/agent_msi_test.sh), so the test installs what a release ships.
#
#   cmake -DAGENT_EXE=cg-agent.exe -DSOC_CA=ca.pem -DPOLICY_KEY=policy.pub -DVERSION=0.1.0
#         -DOUTPUT=counterguard-agent-0.1.0.msi [-DWIXL=wixl] [-DSTRIP=x86_64-w64-mingw32-strip]
#         -P installer/windows/build-msi.cmake
#
# The inputs are checked before anything is built: every PC the MSI reaches would otherwise
# find out, at its enrollment, that the file was the wrong one (a private key shipped to
# every counter PC, a CA saved by Notepad with a byte order mark, a version Windows Installer
# cannot compare).
cmake_minimum_required(VERSION 3.25)

foreach(var AGENT_EXE SOC_CA POLICY_KEY VERSION OUTPUT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "build-msi: -D${var}=... is required")
  endif()
endforeach()
if(NOT WIXL)
  find_program(WIXL wixl)
  if(NOT WIXL)
    message(FATAL_ERROR "build-msi: wixl not found (apt-get install wixl)")
  endif()
endif()
get_filename_component(wxs "${CMAKE_CURRENT_LIST_DIR}/counterguard-agent.wxs" ABSOLUTE)

# ProductVersion: major.minor.build, each a number Windows Installer compares (major and minor
# at most 255, build at most 65535); a fourth field is ignored by upgrades, so it is refused.
if(NOT VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
  message(FATAL_ERROR "build-msi: VERSION '${VERSION}' is not major.minor.build (e.g. 0.1.0)")
endif()
if(CMAKE_MATCH_1 GREATER 255 OR CMAKE_MATCH_2 GREATER 255 OR CMAKE_MATCH_3 GREATER 65535)
  message(FATAL_ERROR "build-msi: VERSION '${VERSION}' is out of range (at most 255.255.65535)")
endif()

# A PEM file holding exactly the kind of block the agent reads, and no private key.
function(check_pem path what begin)
  if(NOT EXISTS "${path}" OR IS_DIRECTORY "${path}")
    message(FATAL_ERROR "build-msi: ${what} '${path}' does not exist")
  endif()
  file(READ "${path}" head LIMIT 3 HEX)
  if(head STREQUAL "efbbbf")
    message(FATAL_ERROR "build-msi: ${what} '${path}' starts with a UTF-8 byte order mark "
                        "(saved by Notepad?); OpenSSL does not read such a PEM file. Save it "
                        "as UTF-8 without BOM.")
  endif()
  file(STRINGS "${path}" lines LIMIT_INPUT 262144)
  set(found FALSE)
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(line MATCHES "^-----BEGIN .*PRIVATE KEY-----$")
      message(FATAL_ERROR "build-msi: ${what} '${path}' holds a PRIVATE KEY: the MSI would give "
                          "it to every PC. Use the public half.")
    endif()
    if(line STREQUAL "-----BEGIN ${begin}-----")
      set(found TRUE)
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "build-msi: ${what} '${path}' has no '-----BEGIN ${begin}-----' block")
  endif()
endfunction()
check_pem("${SOC_CA}" "the SOC's CA (SOC_CA)" "CERTIFICATE")
check_pem("${POLICY_KEY}" "the policy key (POLICY_KEY)" "PUBLIC KEY")
if(NOT EXISTS "${AGENT_EXE}")
  message(FATAL_ERROR "build-msi: AGENT_EXE '${AGENT_EXE}' does not exist")
endif()

# wixl finds -D sources only by names relative to its working directory (an absolute name is
# "Couldn't find file"): everything is staged beside the output.
get_filename_component(output "${OUTPUT}" ABSOLUTE)
get_filename_component(output_name "${output}" NAME)
set(stage "${output}.stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}")
if(STRIP)
  execute_process(COMMAND "${STRIP}" -o "${stage}/cg-agent.exe" "${AGENT_EXE}"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "build-msi: ${STRIP} ${AGENT_EXE} failed (${rc})")
  endif()
else()
  file(COPY_FILE "${AGENT_EXE}" "${stage}/cg-agent.exe")
endif()
file(COPY_FILE "${SOC_CA}" "${stage}/ca.pem")
file(COPY_FILE "${POLICY_KEY}" "${stage}/policy.pub")
execute_process(
  COMMAND "${WIXL}" -a x64 -D Version=${VERSION} -D AgentExe=cg-agent.exe -D SocCa=ca.pem
          -D PolicyKey=policy.pub -o "${output_name}.tmp" "${wxs}"
  WORKING_DIRECTORY "${stage}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build-msi: wixl failed (${rc})")
endif()
file(RENAME "${stage}/${output_name}.tmp" "${output}")
file(REMOVE_RECURSE "${stage}")
message(STATUS "build-msi: ${output} (version ${VERSION})")
