#!/bin/sh
# SPDX-License-Identifier: MIT
# attach and dump refuse what they cannot do with a message that names the
# cause and the fix, exit 1 (2 for usage errors), write no profile and leave
# the target alone: no such process, a zombie, a thread id, another user's
# process, perf_event_open refused, ptrace refused (another tracer).
. "${abs_top_srcdir}/tests/e2e/lib.sh"

# A pid that is not in use: a child that has exited and been reaped.
sh -c 'exit 0' &
gone=$!
wait "$gone"
while kill -0 "$gone" 2>/dev/null; do gone=$((gone + 7919)); done

for cmd in attach dump; do
	run_cprof $cmd -p "$gone" -o "$T/p.prof"
	expect_rc 1 "$cmd of a pid that does not exist"
	expect_err "no process $gone: no such process" "$cmd: no such process"
	[ -e "$T/p.prof" ] && fail "$cmd: a profile was written for no process"
done

# Usage errors: exit 2.
run_cprof attach
expect_rc 2 "attach without -p"
expect_err "no process given" "attach without -p"
run_cprof attach -p 1 -d soon
expect_rc 2 "attach with a bad duration"
expect_err "invalid duration 'soon'" "bad duration"
run_cprof dump -p abc
expect_rc 2 "dump with a bad pid"
expect_err "invalid process id 'abc'" "bad pid"
run_cprof dump -p 1 --debug=3
expect_rc 2 "dump with a bad debug level"

# A zombie: sleep never reaps the child the shell left it.
sh -c 'sh -c "exit 0" & exec sleep 20' &
parent=$!
forget_later "$parent"
zombie=
for i in 1 2 3 4 5 6 7 8 9 10; do
	zombie=$(children_of "$parent")
	[ -n "$zombie" ] && grep -q '^State:[[:space:]]*Z' "/proc/$zombie/status" 2>/dev/null && break
	zombie=
	sleep 0.1
done
[ -n "$zombie" ] || fail "could not make a zombie"
for cmd in attach dump; do
	run_cprof $cmd -p "$zombie" -o "$T/p.prof"
	expect_rc 1 "$cmd of a zombie"
	expect_err "process $zombie is a zombie" "$cmd: names the zombie"
done

# A thread id instead of a process id.
rm -f "$T/ready"
"$WORKLOADS/w-threads" 10 "$T/ready" >/dev/null 2>&1 &
wpid=$!
forget_later "$wpid"
wait_file "$T/ready" 5 || fail "w-threads did not start"
tid=$(ls "/proc/$wpid/task" | grep -vx "$wpid" | head -1)
run_cprof attach -p "$tid" -d 1 -o "$T/p.prof"
expect_rc 1 "attach to a thread id"
expect_err "is a thread of process $wpid" "names the process of the thread"

# perf_event_open refused by the kernel (a seccomp filter): the paranoid hint.
deny=$abs_top_builddir/tests/helpers/deny-syscall
if [ -x "$deny" ]; then
	echo "+ deny-syscall perf_event_open 13 cprof attach -p $wpid"
	"$deny" perf_event_open 13 "$CPROF" attach -p "$wpid" -d 1 -o "$T/p.prof" >"$T/out" 2>"$T/err"
	rc=$?
	sed 's/^/  stderr: /' "$T/err"
	expect_rc 1 "attach with perf_event_open refused"
	expect_err "perf_event_open.*Permission denied" "names the call and the cause"
	expect_err "perf_event_paranoid" "names the setting"
	[ -e "$T/p.prof" ] && fail "a profile was written although no event could be opened"
else
	note "no deny-syscall helper: perf_event_open refusal not tested"
fi

# ptrace refused: another tracer holds the process.
if command -v strace >/dev/null 2>&1; then
	strace -p "$wpid" -o /dev/null &
	spid=$!
	forget_later "$spid"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$wpid/status" && break
		sleep 0.1
	done
	run_cprof dump -p "$wpid"
	expect_rc 1 "dump of a process another tracer holds"
	expect_err "already traced by process $spid" "names the other tracer"
	kill "$spid"
	wait "$spid" 2>/dev/null
else
	note "strace not found: dump of a traced process not tested"
fi
kill -0 "$wpid" || fail "the errors harmed the workload"

# Another user's process: as nobody, attach to and dump a root process.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	chmod 755 "$T"
	mkdir "$T/bin"
	cp "$CPROF" "$T/bin/cprof"
	chmod 755 "$T/bin" "$T/bin/cprof"
	as_nobody() {
		setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --inh-caps=-all "$@"
	}
	if as_nobody test -x "$T/bin/cprof"; then
		for cmd in attach dump; do
			echo "+ (as nobody) cprof $cmd -p $wpid"
			as_nobody "$T/bin/cprof" $cmd -p "$wpid" -o /tmp/cprof-never-written.$$ >"$T/out" 2>"$T/err"
			rc=$?
			sed 's/^/  stderr: /' "$T/err"
			check_sanitizers "$T/err"
			expect_rc 1 "$cmd of root's process as nobody"
			expect_err "process $wpid belongs to root, and cprof runs as nobody" "$cmd: names both users"
			expect_err "run cprof as root" "$cmd: says what to do"
		done
	else
		note "$T is not reachable for nobody: another user's process not tested"
	fi
else
	skip "needs root, setpriv and user nobody for the other-user case"
fi

echo "PASS: $me"
