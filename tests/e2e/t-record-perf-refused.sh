#!/bin/sh
# SPDX-License-Identifier: MIT
# When the kernel refuses perf_event_open, cprof says why and what to do,
# exits 125, never starts the command and leaves no profile behind.  The
# refusal comes from the kernel through a seccomp filter (deny-syscall).
. "${abs_top_srcdir}/tests/e2e/lib.sh"

deny=$abs_top_builddir/tests/helpers/deny-syscall
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)

refused() { # ERRNO: run cprof with perf_event_open failing with ERRNO
	echo "+ deny-syscall perf_event_open $1 cprof record ..."
	"$deny" perf_event_open "$1" "$CPROF" record -o "$T/p.prof" -- \
		sh -c "touch '$T/ran'" >"$T/out" 2>"$T/err"
	rc=$?
	sed 's/^/  stderr: /' "$T/err"
	check_sanitizers "$T/err"
	expect_rc 125 "perf_event_open failing with errno $1"
	[ ! -e "$T/ran" ] || fail "the command ran although no event could be opened"
	[ ! -e "$T/p.prof" ] || fail "a profile was left behind"
	[ -z "$(ls -A "$T" | grep -v -e '^out$' -e '^err$')" ] || fail "temporary files left behind: $(ls -A "$T")"
}

refused 13 # EACCES
expect_err "perf_event_open\(cpu-clock, cpu [0-9]+\): Permission denied" "names the call and the cause"
expect_err "kernel.perf_event_paranoid is $paranoid" "names the paranoid setting and its value"
if [ "$paranoid" -le 2 ]; then
	expect_err "something else refused: a seccomp filter" "names the likely cause when paranoid allows it"
else
	expect_err "sysctl kernel.perf_event_paranoid=2" "says which setting to change"
fi
expect_err "CAP_PERFMON" "says what to do"

refused 1 # EPERM
expect_err "Operation not permitted.*perf_event_paranoid" "EPERM names the paranoid setting"

refused 2 # ENOENT
expect_err "no cpu-clock perf event" "ENOENT says the event is missing"

refused 38 # ENOSYS
expect_err "built without perf events" "ENOSYS says perf events are missing"
exit 0
