#!/bin/sh
# SPDX-License-Identifier: MIT
# debuginfod is asked only when the user asks (--debuginfod, or
# DEBUGINFOD_URLS set), and a server that never answers costs one timeout,
# not one per module: the run still ends and writes its profile.  The
# "server" is a local socket that accepts connections and never replies.
. "$(dirname "$0")/lib.sh"

need_go
command -v python3 >/dev/null 2>&1 || skip "python3 not found (for a fake server)"
command -v strip >/dev/null 2>&1 || skip "strip not found (binutils)"

mkdir -p "$T/bin" && cp "$WORKLOADS/w-deep" "$T/bin/w-deep" && strip --strip-all "$T/bin/w-deep" ||
	fail "cannot make a stripped binary"

python3 - "$T/port" "$T/accepted" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(60)
held = []
try:
    while True:
        c, _ = s.accept()
        held.append(c)
        with open(sys.argv[2], "a") as f:
            f.write("x\n")
except Exception:
    pass
PY
forget_later $!
wait_file "$T/port" 10 || fail "the fake server did not start"
sleep 0.2
url=http://127.0.0.1:$(cat "$T/port")
DEBUGINFOD_CACHE_PATH=$T/cache
export DEBUGINFOD_CACHE_PATH
unset DEBUGINFOD_URLS DEBUGINFOD_TIMEOUT

connections() {
	if [ -f "$T/accepted" ]; then wc -l <"$T/accepted"; else echo 0; fi
}

# Not asked: no server, whatever the cache and --debuginfod's defaults say.
run_cprof record -q -o "$T/a.prof" -- "$T/bin/w-deep" 10 0.3
expect_rc 0 "record without debuginfod"
[ "$(connections)" -eq 0 ] || fail "a server was contacted without being asked"

# Asked through the environment, with a 1 s timeout: the run still ends.
t0=$(now_ms)
DEBUGINFOD_URLS=$url DEBUGINFOD_TIMEOUT=1 run_cprof record -q -o "$T/b.prof" -- "$T/bin/w-deep" 10 0.3
t1=$(now_ms)
expect_rc 0 "record with DEBUGINFOD_URLS"
n=$(connections)
note "DEBUGINFOD_URLS: $n connection(s), $((t1 - t0)) ms"
[ "$n" -ge 1 ] || fail "DEBUGINFOD_URLS is set, yet no server was asked"
# libdebuginfod would retry a timed-out query twice; cprof sets
# DEBUGINFOD_RETRY_LIMIT=0 unless the user set it, and then stops asking:
# one connection, one timeout.
[ "$n" -le 1 ] || fail "$n connections: cprof kept asking a server that timed out"
[ $((t1 - t0)) -lt 6000 ] || fail "the run took $((t1 - t0)) ms with a 1 s debuginfod timeout"
load_profile "$T/b.prof"
grep -Eq ' w-deep\+0x[0-9a-f]+ ' "$T/b.prof.raw" || fail "no profile worth the name after the timeout"

# A retry limit the user set is kept: 1 retry, two connections.
rm -f "$T/accepted"
DEBUGINFOD_URLS=$url DEBUGINFOD_TIMEOUT=1 DEBUGINFOD_RETRY_LIMIT=1 \
	run_cprof record -q -o "$T/r.prof" -- "$T/bin/w-deep" 10 0.3
expect_rc 0 "record with DEBUGINFOD_RETRY_LIMIT=1"
n=$(connections)
note "DEBUGINFOD_RETRY_LIMIT=1: $n connection(s)"
[ "$n" -eq 2 ] || fail "DEBUGINFOD_RETRY_LIMIT=1: $n connections, want 2"

# --debuginfod with a server in DEBUGINFOD_URLS asks it too.
rm -f "$T/accepted"
DEBUGINFOD_URLS=$url DEBUGINFOD_TIMEOUT=1 run_cprof record -q --debuginfod -o "$T/c.prof" -- "$T/bin/w-deep" 10 0.3
expect_rc 0 "record --debuginfod"
[ "$(connections)" -ge 1 ] || fail "--debuginfod: no server was asked"

echo "PASS: $me"
