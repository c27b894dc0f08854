#!/bin/sh
# SPDX-License-Identifier: MIT
# Tracing with --threadcreate is invisible to the program: with signal
# handlers (SIGUSR1 from another process, SIGALRM, SIGTSTP, SIGCHLD), a
# SIGSTOP and SIGCONT from a child, forks, a vfork, an exec and threads,
# the output and exit status are those without cprof, every creation is
# counted, and no process is left stopped or traced.  The exit-status
# contract of record holds: death by a signal is 128+N.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
w=$WORKLOADS/w-sigs

timeout 20 "$w" >"$T/expected" 2>&1
erc=$?
[ "$erc" = 7 ] || fail "w-sigs alone exited $erc, want 7"

echo "+ cprof record --threadcreate -- w-sigs"
timeout 30 "$CPROF" record -q -o "$T/cpu.prof" --threadcreate="$T/tc.prof" -- "$w" >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/  stderr: /' "$T/err"
check_sanitizers "$T/err"
[ "$rc" = 124 ] && fail "cprof record --threadcreate hung (a stop was never resumed?)"
expect_rc 7 "the program's exit status under --threadcreate"
diff -u "$T/expected" "$T/out" || fail "the program's output changed under --threadcreate"
load_profile "$T/tc.prof"
cat "$T/tc.prof.folded"
# 6 forks (sender, waker, 3 children, the exec child), 1 vfork, 2 threads.
[ "$(sample_total "$T/tc.prof.folded")" = 9 ] || fail "$(sample_total "$T/tc.prof.folded") creations, want 9"
vf=$(awk -F '\t' '$2 ~ /vfork/ { n += $1 } END { print n + 0 }' "$T/tc.prof.folded")
[ "$vf" = 1 ] || fail "$vf vfork creations, want 1"
left=$(ps -eo pid=,stat=,comm= | awk '$3 == "w-sigs" { print }')
[ -z "$left" ] || fail "processes left behind: $left"

# Death by a signal: 128+N, as without --threadcreate.
run_cprof record -q -o "$T/k.prof" --threadcreate="$T/k.tc" -- sh -c 'kill -SEGV $$'
expect_rc 139 "a command killed by SIGSEGV"
run_cprof record -q -o "$T/e.prof" --threadcreate="$T/e.tc" -- sh -c 'exit 3'
expect_rc 3 "a command exiting 3"
load_profile "$T/e.tc"

echo "PASS: $me"
