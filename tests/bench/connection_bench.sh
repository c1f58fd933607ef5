#!/usr/bin/env bash
# What a connection costs the SOC, and what a flood of them costs analysts (issue 13), every
# figure next to a reference measured in the same run:
#   1. cg-soc's resident memory and descriptors with N idle TLS connections and N bare TCP
#      connections on the agent port (reference: the idle server) -> KiB per connection, which
#      sizes the default caps (docs/performance.md, "Connections");
#   2. `cgctl devices` on the operator port while the agent port holds the flood, against the
#      same command on the idle server (ratio).
# Usage: tests/bench/connection_bench.sh [BUILD_DIR]   Environment: CG_BENCH_CONNECTIONS (1000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
for f in "$build/soc/cg-soc" "$build/cgctl/cgctl"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build $build)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "error: python3 missing" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
CG_BUILD="$build" CG_WORK="$work" CG_N="${CG_BENCH_CONNECTIONS:-1000}" python3 - <<'PY'
import atexit, json, os, socket, ssl, subprocess, time
build, work, n = os.environ["CG_BUILD"], os.environ["CG_WORK"], int(os.environ["CG_N"])
d = work + "/soc"
subprocess.run([build + "/soc/cg-soc", "init", "--data-dir", d], check=True, capture_output=True)
soc = subprocess.Popen(
    [build + "/soc/cg-soc", "serve", "--data-dir", d, "--agent-listen", "127.0.0.1:0",
     "--operator-listen", "127.0.0.1:0", "--ready-file", d + "/ready.json",
     # Hold the idle connections for the whole run; one address opens them all.
     "--request-timeout", "600s", "--max-connections-per-address", str(4 * n)],
    stdout=subprocess.DEVNULL, stderr=open(work + "/soc.log", "w"))
atexit.register(soc.kill)
for _ in range(200):
    if os.path.exists(d + "/ready.json"):
        break
    time.sleep(0.05)
time.sleep(0.2)
ports = json.load(open(d + "/ready.json"))

def rss_kib():
    for line in open(f"/proc/{soc.pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

def fds():
    return len(os.listdir(f"/proc/{soc.pid}/fd"))

def cgctl_ms(runs=5):
    best = None
    for _ in range(runs):
        t = time.monotonic()
        subprocess.run([build + "/cgctl/cgctl", "--server", f"https://localhost:{ports['operator_port']}",
                        "--ca", d + "/ca.pem", "--token-file", d + "/admin.token", "devices"],
                       check=True, capture_output=True)
        ms = (time.monotonic() - t) * 1000
        best = ms if best is None else min(best, ms)
    return best

reference_ms = cgctl_ms()
rss0, fd0 = rss_kib(), fds()
ctx = ssl.create_default_context(cafile=d + "/ca.pem")
tls = []
t = time.monotonic()
for _ in range(n):
    tls.append(ctx.wrap_socket(socket.create_connection(("127.0.0.1", ports["agent_port"])),
                               server_hostname="localhost"))
handshake_s = time.monotonic() - t
time.sleep(1)
rss1, fd1 = rss_kib(), fds()
bare = [socket.create_connection(("127.0.0.1", ports["agent_port"])) for _ in range(n)]
time.sleep(2)
rss2, fd2 = rss_kib(), fds()
flood_ms = cgctl_ms()
print(f"idle server: RSS {rss0} KiB, {fd0} descriptors")
print(f"{n} idle TLS connections: RSS +{rss1 - rss0} KiB = {(rss1 - rss0) / n:.1f} KiB each, "
      f"+{fd1 - fd0} descriptors ({n / handshake_s:.0f} handshakes/s from one Python client)")
print(f"+{n} bare TCP connections: RSS +{rss2 - rss1} KiB = {(rss2 - rss1) / n:.1f} KiB each, "
      f"+{fd2 - fd1} descriptors")
print(f"cgctl devices: {reference_ms:.0f} ms idle, {flood_ms:.0f} ms during the flood "
      f"({flood_ms / reference_ms:.2f}x)")
PY
