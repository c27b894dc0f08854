#!/bin/sh
# SPDX-License-Identifier: MIT
# --threadcreate where ptrace is refused (the kernel refuses it through a
# seccomp filter): cprof says so once, names the cause, goes on with the CPU
# profile, leaves no threadcreate file, and the command's output and exit
# status are unchanged.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
deny=$abs_top_builddir/tests/helpers/deny-syscall

echo "+ deny-syscall ptrace 1 cprof record --threadcreate ..."
# LeakSanitizer stops threads with ptrace at exit, which the filter denies
# too: in a sanitizer build this run cannot check for leaks.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	"$deny" ptrace 1 "$CPROF" record -o "$T/cpu.prof" --threadcreate="$T/tc.prof" -- \
	"$WORKLOADS/w-exit" code 3 >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/  stderr: /' "$T/err"
check_sanitizers "$T/err"
expect_rc 3 "the command's exit status with ptrace refused"
n=$(grep -ci 'ptrace' "$T/err")
[ "$n" = 1 ] || fail "ptrace refusal reported $n times, want once"
expect_err 'ptrace.*Operation not permitted' "names ptrace and the cause"
[ ! -e "$T/tc.prof" ] || fail "a threadcreate profile was written although nothing was traced"
[ -z "$(ls -A "$T" | grep '^\.tc\.prof\.')" ] || fail "a temporary threadcreate file was left behind"
load_profile "$T/cpu.prof"
exit 0
