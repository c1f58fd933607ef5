// The package inventory's parsers: dpkg's status file and `rpm -qa` output. (Reading them from
// a machine is covered by the office_license and antivirus fixture tests.)
#include "collectors/packages.h"

#include <gtest/gtest.h>

namespace cg::collectors {
namespace {

TEST(Packages, DpkgStatusParsing) {
  const auto pkgs = ParseDpkgStatus(
      "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n"
      "Description: x\n continued\n .\n\n"
      "Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n"
      "package: c\nstatus: hold ok unpacked\nversion: 3\n\n\n"
      "Package: d\nStatus: purge ok not-installed\n");
  ASSERT_TRUE(pkgs.ok()) << pkgs.error().ToString();
  ASSERT_EQ(pkgs->size(), 2u);
  EXPECT_EQ((*pkgs)[0].name, "a");
  EXPECT_EQ((*pkgs)[0].version, "1.0");
  EXPECT_EQ((*pkgs)[0].arch, "amd64");
  EXPECT_EQ((*pkgs)[1].name, "c");
  EXPECT_EQ((*pkgs)[1].state, "unpacked");
  for (const char* bad : {" leading continuation\n", "Package: a\nStatus: install ok\nVersion: 1\n",
                          "Package: a\nStatus: install ok installed\n",
                          "Package: a\nStatus: install ok flying\nVersion: 1\n",
                          "Status: install ok installed\nVersion: 1\n", "Package a\n"}) {
    EXPECT_FALSE(ParseDpkgStatus(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseDpkgStatus("").ok());
  // A status file with CRLF line ends (copied through Windows) reads the same.
  const auto crlf = ParseDpkgStatus(
      "Package: a\r\nStatus: install ok installed\r\nVersion: 1.0\r\n\r\n"
      "Package: b\r\nStatus: install ok installed\r\nVersion: 2\r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.error().ToString();
  ASSERT_EQ(crlf->size(), 2u);
  EXPECT_EQ((*crlf)[0].version, "1.0");
}

TEST(Packages, RpmQueryParsing) {
  const auto pkgs = ParseRpmQuery(
      "wps-office\t11.1.0.11723-1\tx86_64\nlibreoffice-core\t7.5.9.2-1.el9\tx86_64\n\n"
      "gpg-pubkey\tfd431d51-4ae0493b\t(none)\n");
  ASSERT_TRUE(pkgs.ok()) << pkgs.error().ToString();
  ASSERT_EQ(pkgs->size(), 3u);
  EXPECT_EQ((*pkgs)[1].name, "libreoffice-core");
  EXPECT_EQ((*pkgs)[1].version, "7.5.9.2-1.el9");
  EXPECT_EQ((*pkgs)[1].source, "rpm");
  EXPECT_FALSE(ParseRpmQuery("wps-office 11.1\n").ok());
  EXPECT_FALSE(ParseRpmQuery("\t1\tx86_64\n").ok());
}

}  // namespace
}  // namespace cg::collectors
