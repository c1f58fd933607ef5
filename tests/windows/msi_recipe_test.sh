#!/bin/sh
# installer/windows/build-msi.cmake refuses, before wixl runs, the inputs that would break the
# enrollment of every PC the MSI reaches (ctest cg_win_msi_recipe; no Wine, no wixl needed):
# the policy key's private half, a CA and a key swapped, a PEM saved with a UTF-8 byte order
# mark, a missing file, a version Windows Installer cannot compare. A PEM with Windows line
# endings is accepted (OpenSSL reads it).
#   msi_recipe_test.sh RECIPE WORK_DIR
set -eu
recipe="$1"
work="$2"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-soc-ca \
  -days 2 -keyout ca.key -out ca.pem 2>/dev/null
openssl genpkey -algorithm ed25519 -out policy.key
openssl pkey -in policy.key -pubout -out policy.pub
printf '\357\273\277' | cat - policy.pub >policy-bom.pub
sed 's/$/\r/' policy.pub >policy-crlf.pub
printf 'MZ not really an exe\n' >cg-agent.exe
# A wixl that records that it ran: the refusals must come before it.
printf '#!/bin/sh\necho ran >"%s/wixl-ran"\nexit 1\n' "$work" >wixl
chmod +x wixl

# expect_refusal MESSAGE-PART -DVAR=VALUE...: the recipe fails, says why, never runs wixl.
expect_refusal() {
  want="$1"
  shift
  rm -f wixl-ran
  if cmake -DAGENT_EXE=cg-agent.exe -DSOC_CA=ca.pem -DPOLICY_KEY=policy.pub -DVERSION=0.1.0 \
    -DOUTPUT=out.msi -DWIXL="$work/wixl" "$@" -P "$recipe" >out.log 2>&1; then
    fail "accepted $*"
  fi
  tr '\n' ' ' <out.log | tr -s " " | grep -qF -- "$want" || fail "$* did not say '$want': $(cat out.log)"
  [ ! -e wixl-ran ] || fail "$*: wixl ran before the inputs were checked"
  [ ! -e out.msi ] || fail "$*: an MSI was left"
}

expect_refusal "holds a PRIVATE KEY" -DPOLICY_KEY=policy.key
expect_refusal "holds a PRIVATE KEY" -DSOC_CA=ca.key
expect_refusal "has no '-----BEGIN PUBLIC KEY-----' block" -DPOLICY_KEY=ca.pem
expect_refusal "has no '-----BEGIN CERTIFICATE-----' block" -DSOC_CA=policy.pub
expect_refusal "byte order mark" -DPOLICY_KEY=policy-bom.pub
expect_refusal "does not exist" -DSOC_CA=missing.pem
expect_refusal "does not exist" -DAGENT_EXE=missing.exe
expect_refusal "is not major.minor.build" -DVERSION=0.1
expect_refusal "is not major.minor.build" -DVERSION=0.1.0.7
expect_refusal "out of range" -DVERSION=256.0.0
expect_refusal "out of range" -DVERSION=1.0.65536
expect_refusal "-DVERSION=... is required" -DVERSION=

# Accepted inputs reach wixl (which fails here, being the recorder).
rm -f wixl-ran
cmake -DAGENT_EXE=cg-agent.exe -DSOC_CA=ca.pem -DPOLICY_KEY=policy-crlf.pub -DVERSION=255.255.65535 \
  -DOUTPUT=out.msi -DWIXL="$work/wixl" -P "$recipe" >out.log 2>&1 && fail "the recorder wixl succeeded?"
[ -e wixl-ran ] || fail "good inputs (CRLF key, highest version) were refused: $(cat out.log)"
grep -q "wixl failed" out.log || fail "a failing wixl is not reported: $(cat out.log)"
[ ! -e out.msi ] || fail "an MSI was left after wixl failed"
echo "PASS"
