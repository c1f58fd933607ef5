# Runs at install time (install(CODE) in installer/CMakeLists.txt), where CMAKE_INSTALL_PREFIX
# is the prefix given to `cmake --install --prefix` or cpack's (/usr), not the configure-time
# one. Installs the component's unit with its paths pointing at this prefix, and the agent's
# configuration. file(INSTALL) adds $DESTDIR itself and records the files in the manifest.
if(CG_SYSCONFDIR_ABSOLUTE)
  set(cg_etc "${CG_SYSCONFDIR_ABSOLUTE}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(cg_etc "/etc")
else()
  set(cg_etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()

if(CG_INSTALL_WHAT STREQUAL "agent")
  set(cg_unit cg-agent.service)
else()
  set(cg_unit cg-soc.service)
endif()

# The units name /usr/... and /etc/counterguard as they are for the system install and the
# packages; any other prefix gets its own paths.
file(READ "${CG_INSTALLER_DIR}/linux/${cg_unit}" cg_text)
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  foreach(dir sbin bin share)
    string(REPLACE "/usr/${dir}/" "${CMAKE_INSTALL_PREFIX}/${dir}/" cg_text "${cg_text}")
  endforeach()
endif()
if(NOT cg_etc STREQUAL "/etc")
  string(REPLACE "/etc/counterguard/" "${cg_etc}/counterguard/" cg_text "${cg_text}")
endif()
set(cg_stage "${CG_STAGE_DIR}/${CG_INSTALL_WHAT}")
file(MAKE_DIRECTORY "${cg_stage}")
file(WRITE "${cg_stage}/${cg_unit}" "${cg_text}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${cg_stage}/${cg_unit}")

if(CG_INSTALL_WHAT STREQUAL "agent")
  # A conffile in the package: dpkg keeps the admin's edits on upgrade.
  file(INSTALL DESTINATION "${cg_etc}/counterguard" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${CG_INSTALLER_DIR}/linux/agent.json")
endif()
