#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof attach to a running program with a busy and an idle named thread:
#  - for 2 s (-d 2): the profile holds cp-busy's stacks under its name and
#    time_nanos/duration_nanos of the window; the program keeps running and
#    finishes normally (its ticks continue after the detach);
#  - until SIGTERM: the profile is written at once, the program runs on;
#  - cprof killed with SIGKILL, even while tracing: the program runs on;
#  - until the program exits: cprof notices and writes the profile.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
w=$WORKLOADS/w-threads

# Start w-threads for $1 seconds; sets $wpid and waits until it runs.
start_workload() {
	rm -f "$T/ready"
	"$w" "$1" "$T/ready" >"$T/wout" 2>&1 &
	wpid=$!
	forget_later "$wpid"
	wait_file "$T/ready" 5 || fail "w-threads did not start"
	sleep 0.3
}

ticks() {
	grep -c '^tick ' "$T/wout"
}

# CPU time (ms) that w-threads' thread cp-busy has used so far.
busy_cpu_ms() {
	for d in /proc/"$wpid"/task/*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = cp-busy ] || continue
		awk '{ print int($1 / 1000000) }' "$d/schedstat"
		return
	done
	fail "w-threads has no thread named cp-busy"
}

# 1. -d 2: a 2 s window.
start_workload 5
p=$T/a.prof
cpu0=$(busy_cpu_ms)
t0=$(now_ms)
run_cprof attach -p "$wpid" -d 2 -o "$p"
ms=$(($(now_ms) - t0))
busy_ms=$(($(busy_cpu_ms) - cpu0))
expect_rc 0 "attach -d 2"
[ "$ms" -lt 4500 ] || fail "attach -d 2 took $ms ms"
kill -0 "$wpid" 2>/dev/null || fail "the program died while cprof was attached"
case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$wpid/status") in
T | t) fail "the program was left stopped" ;;
esac
before=$(ticks)
wait "$wpid"
wrc=$?
sed 's/^/  program: /' "$T/wout" | tail -3
[ "$wrc" = 0 ] || fail "the program exited $wrc after the detach"
grep -q '^done ' "$T/wout" || fail "the program did not finish normally"
after=$(ticks)
note "ticks when cprof detached: $before, at the end: $after"
[ "$after" -gt "$before" ] || fail "the program did not go on ticking after the detach"
# 5 s of 100 ms sleeps and a tick after each: a stop of the program would
# lose some; a loaded machine's late wake-ups lose a few too.
[ "$after" -ge 40 ] || fail "the program ticked $after times in 5 s, want about 50"

load_profile "$p"
sed -n '1,6p' "$p.raw"
grep -q '^Duration: 2\.0' "$p.raw" || grep -q '^Duration: 1\.9' "$p.raw" ||
	fail "duration_nanos is not the 2 s window ($(grep ^Duration "$p.raw"))"
grep -q '^Time: ' "$p.raw" || fail "no time_nanos"
grep 'cp_w_busy_leaf' "$p.folded" | grep -q 'thread:\[cp-busy\]' ||
	fail "no cp_w_busy_leaf stack under thread cp-busy"
busy=$(awk -F '\t' '$3 ~ /cp-busy/ { n += $1 } END { print n + 0 }' "$p.folded")
total=$(sample_total "$p.folded")
note "samples: $total, in cp-busy: $busy; cp-busy ran $busy_ms ms while cprof was attached"
# One sample per 10 ms of CPU.  The thread's CPU time is read just before
# cprof starts and after it exits, a little beyond the window it samples;
# how much CPU a busy thread gets depends on the machine's load.
[ "$busy_ms" -ge 200 ] || fail "cp-busy ran only $busy_ms ms in 2 s: is the machine overloaded?"
[ "$((busy * 10))" -ge "$((busy_ms * 7 / 10))" ] ||
	fail "only $busy samples of cp-busy, for $busy_ms ms of its CPU time"
grep 'thread:\[cp-busy\]' "$p.folded" | grep -v 'cp_w_busy_leaf' | grep -q . &&
	note "some cp-busy samples outside cp_w_busy_leaf (kernel or loop edges)"
grep 'cp_w_busy_leaf' "$p.folded" | head -1 | grep -q 'cp_w_busy_leaf;busy;start_thread' ||
	fail "cp_w_busy_leaf's stack is not leaf;busy;start_thread"

# 2. SIGTERM ends the profile; the program runs on.
start_workload 6
p=$T/term.prof
echo "+ cprof attach -p $wpid -o $p &"
"$CPROF" attach -p "$wpid" -o "$p" >"$T/out" 2>"$T/err" &
cpid=$!
forget_later "$cpid"
sleep 1.5
t0=$(now_ms)
kill -TERM "$cpid"
wait_gone "$cpid" 5 || fail "cprof still runs 5 s after SIGTERM"
wait "$cpid"
rc=$?
sed 's/^/  stderr: /' "$T/err"
check_sanitizers "$T/err"
expect_rc 0 "attach stopped by SIGTERM"
kill -0 "$wpid" 2>/dev/null || fail "SIGTERM to cprof ended the program too"
load_profile "$p"
grep -q cp_w_busy_leaf "$p.folded" || fail "no cp_w_busy_leaf after SIGTERM"
kill -TERM "$wpid"
wait "$wpid"

# 3. cprof killed with SIGKILL, also as a tracer (--threadcreate): the
#    program is neither stopped nor harmed, and finishes normally.
start_workload 3
echo "+ cprof attach -p $wpid --threadcreate=$T/tc.prof -o $T/k.prof & (then SIGKILL)"
"$CPROF" attach -p "$wpid" --threadcreate="$T/tc.prof" -o "$T/k.prof" >"$T/out" 2>"$T/err" &
cpid=$!
forget_later "$cpid"
sleep 1
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
sleep 0.3
case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$wpid/status") in
T | t) fail "the program was left stopped by a killed cprof" ;;
esac
[ ! -e "$T/k.prof" ] || fail "a killed cprof left a profile (it cannot have been whole)"
wait "$wpid"
wrc=$?
[ "$wrc" = 0 ] || fail "the program exited $wrc after cprof was killed"
grep -q '^done ' "$T/wout" || fail "the program did not finish after cprof was killed"

# 4. The program exits first: cprof stops by itself.
start_workload 1.5
p=$T/exit.prof
t0=$(now_ms)
run_cprof attach -p "$wpid" -o "$p"
ms=$(($(now_ms) - t0))
expect_rc 0 "attach until the program exits"
[ "$ms" -lt 4000 ] || fail "cprof took $ms ms to notice the exit"
expect_err "exited" "says the program exited"
load_profile "$p"
grep -q cp_w_busy_leaf "$p.folded" || fail "no cp_w_busy_leaf when the program exits"
wait "$wpid"

echo "PASS: $me"
