# Debian packages, made in a build tree by `cpack -G DEB` (docs/operations.md):
#   counterguard-agent_<version>_<arch>.deb   cg-agent, cg-agent.service, agent.json (conffile)
#   counterguard-soc_<version>_<arch>.deb     cg-soc, cgctl, cg-soc.service, the cg-soc user
# and a -dbgsym package for each with the debug symbols taken out of the stripped binaries
# (the build must carry them: RelWithDebInfo, the default). Dependencies come from
# dpkg-shlibdeps. Included last from the top CMakeLists.txt, after every install() rule.
if(WIN32)
  return()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME counterguard)
set(CPACK_PACKAGE_VERSION "${CG_PACKAGE_VERSION}")
set(CPACK_PACKAGE_VENDOR "CounterGuard")
set(CPACK_PACKAGE_CONTACT "${CG_PACKAGE_MAINTAINER}")
# Staged with DESTDIR and the prefix /usr, so that /etc/counterguard lands in /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Not CPACK_STRIP_FILES: CPackDeb only splits debug symbols off binaries that still have them
# (objcopy --only-keep-debug into the -dbgsym package, then --strip-unneeded and a debuglink).
set(CPACK_STRIP_FILES OFF)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent soc)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CG_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# gzip: several times faster than xz on the 90 MB of debug symbols; both are valid in a .deb.
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME counterguard-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "passwd")
# First line: the synopsis; CPack indents the rest.
set(CPACK_DEBIAN_AGENT_DESCRIPTION
    "posture agent for public-service counter PCs (CounterGuard)
cg-agent checks antivirus and YARA signatures, OS and office licensing,
screen lock and password age on a counter PC, enforces what the province's
signed policy says, and reports over mutual TLS to the province's SOC.
It runs as the hardened systemd service cg-agent.service and enrolls with
a token file dropped at /etc/counterguard/enroll.token.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/installer/debian/agent/conffiles"
    "${PROJECT_SOURCE_DIR}/installer/debian/agent/postinst"
    "${PROJECT_SOURCE_DIR}/installer/debian/agent/prerm"
    "${PROJECT_SOURCE_DIR}/installer/debian/agent/postrm")

set(CPACK_DEBIAN_SOC_PACKAGE_NAME counterguard-soc)
set(CPACK_DEBIAN_SOC_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_SOC_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_SOC_DESCRIPTION
    "SOC collector and operator CLI of CounterGuard
cg-soc is the province's SOC server for CounterGuard: it enrolls counter
PCs (issuing their certificates from its own CA), stores their posture
reports, distributes signed policy and serves the operator API. cgctl is
the command line of analysts and admins for that API. cg-soc runs as the
unprivileged system user cg-soc (cg-soc.service).")
set(CPACK_DEBIAN_SOC_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/installer/debian/soc/postinst"
    "${PROJECT_SOURCE_DIR}/installer/debian/soc/prerm"
    "${PROJECT_SOURCE_DIR}/installer/debian/soc/postrm")

include(CPack)
