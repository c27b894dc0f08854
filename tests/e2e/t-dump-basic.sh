#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof dump of a program with 3 threads (main waiting, a sleeper, a
# counter):
#  - debug=2 shows each thread's tid, state and name and a complete stack;
#  - --debug=1 is Go's "threads profile: total 3", which pprof reads;
#  - -o writes a pprof protobuf of threads/count with thread name labels;
#  - the program is unaffected: same output and exit status as without the
#    dumps, its counter never stalls, and the 20 real-time signals sent
#    during the dumps all arrive;
#  - a process stopped by SIGSTOP stays stopped after a dump.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
w=$WORKLOADS/w-dump

# The reference run, without dumps, beside the dumped one: 8 s each, long
# enough for every dump below even in a sanitizer build on a busy machine.
ticks=160
"$w" run $ticks >"$T/expected" 2>&1 &
refpid=$!
forget_later "$refpid"

rm -f "$T/ready"
"$w" run $ticks "$T/ready" >"$T/wout" 2>&1 &
wpid=$!
forget_later "$wpid"
wait_file "$T/ready" 5 || fail "w-dump did not start"
sleep 0.2
"$w" send "$wpid" 20 30 &
spid=$!

run_cprof dump -p "$wpid"
expect_rc 0 "dump"
cp "$T/out" "$T/d2"
run_cprof dump -p "$wpid" --debug=1 -o "$T/d1.txt"
expect_rc 0 "dump --debug=1"
run_cprof dump -p "$wpid" -o "$T/d.prof"
expect_rc 0 "dump -o"
for i in 1 2 3 4 5; do
	"$CPROF" dump -p "$wpid" >/dev/null 2>"$T/err" || {
		cat "$T/err"
		fail "dump $i failed"
	}
done
wait "$spid" || fail "the signal sender failed"
wait "$refpid"
erc=$?
note "without dumps: exit status $erc, output: $(tr '\n' ' ' <"$T/expected")"
# The reference run had no signals; the dumped one gets 20.
sed -i 's/^signals 0$/signals 20/' "$T/expected"
wait "$wpid"
wrc=$?
sed 's/^/  program: /' "$T/wout"
[ "$wrc" = "$erc" ] || fail "the program exited $wrc after the dumps, $erc without"
diff -u "$T/expected" "$T/wout" || fail "the program's output changed under the dumps"

# debug=2: three blocks, complete stacks.
[ "$(grep -c '^thread [0-9]* "' "$T/d2")" = 3 ] || fail "debug=2 does not show 3 threads"
grep -Eq "^thread $wpid \"w-dump\" \[[a-z]" "$T/d2" || fail "no block for the main thread"
block() { # NAME: the block of thread NAME
	awk -v n="\"$1\"" '/^thread / { on = ($3 == n) } on' "$T/d2"
}
block w-dump | grep -q '^cp_w_main_wait(' || fail "main's stack lacks cp_w_main_wait"
block w-dump | grep -q '^_start(' || fail "main's stack does not reach _start"
block cp-sleeper | grep -q '^cp_w_sleeper(' || fail "cp-sleeper's stack lacks cp_w_sleeper"
block cp-counter | grep -q '^cp_w_counter_leaf(' || fail "cp-counter's stack lacks cp_w_counter_leaf"
for t in cp-sleeper cp-counter; do
	block $t | grep -q '^__clone3(' || fail "$t's stack does not reach clone3"
	block $t | grep -Eq '^	/.*w-dump\.c:[0-9]+ \+0x[0-9a-f]+$' || fail "$t's frames lack /path/file:line +0xOFF"
done
grep -q '^\[truncated\]\|^\[unknown\]' "$T/d2" && fail "an incomplete stack in the dump"

# debug=1: Go's count format, read by pprof.
head -1 "$T/d1.txt" | grep -qx 'threads profile: total 3' || fail "debug=1 header: $(head -1 "$T/d1.txt")"
grep -Eq '^1 @( 0x[0-9a-f]+)+$' "$T/d1.txt" || fail "no count line in debug=1"
grep -Eq '^#	0x[0-9a-f]+	cp_w_counter_leaf\+0x[0-9a-f]+	+/.*w-dump\.c:[0-9]+$' "$T/d1.txt" ||
	fail "no # line with address, function+offset and file:line"
load_profile "$T/d1.txt"
[ "$(sample_total "$T/d1.txt.folded")" = 3 ] || fail "pprof reads other than 3 threads from debug=1"

# -o: the protobuf.
load_profile "$T/d.prof"
grep -q '^threads/count' "$T/d.prof.raw" || fail "sample type is not threads/count"
[ "$(sample_total "$T/d.prof.folded")" = 3 ] || fail "the protobuf does not hold 3 threads"
for t in w-dump cp-sleeper cp-counter; do
	grep -q "thread:\[$t\]" "$T/d.prof.folded" || fail "no thread label $t"
done

# A stopped process stays stopped, and a signal sent during the dump arrives.
rm -f "$T/ready"
"$w" run 20 "$T/ready" >"$T/wout" 2>&1 &
wpid=$!
forget_later "$wpid"
wait_file "$T/ready" 5 || fail "w-dump did not start"
kill -STOP "$wpid"
sleep 0.2
run_cprof dump -p "$wpid"
expect_rc 0 "dump of a stopped process"
grep -q '\[stopped' "$T/out" || fail "the stopped process is not shown as stopped"
sleep 0.2
state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$wpid/status")
[ "$state" = T ] || fail "the process is in state $state after the dump, not stopped"
"$w" send "$wpid" 3 1
kill -CONT "$wpid"
wait "$wpid"
grep -qx 'signals 3' "$T/wout" || fail "signals sent to the stopped process were lost: $(cat "$T/wout")"
grep -qx 'stalls 0' "$T/wout" || note "the counter stalled while stopped (expected)"

echo "PASS: $me"
