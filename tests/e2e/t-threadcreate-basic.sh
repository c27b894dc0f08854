#!/bin/sh
# SPDX-License-Identifier: MIT
# --threadcreate: a program creating 5, 3 and 1 threads from three call
# sites gives exactly those counts, each under a stack naming its site, in
# the protobuf (threadcreate/count) and in Go's debug=1 text, which pprof
# reads; attach --threadcreate counts threads created after the attach.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
w=$WORKLOADS/w-tcreate

run_cprof record -q -o "$T/cpu.prof" --threadcreate="$T/tc.prof" -- "$w"
expect_rc 0 "record --threadcreate"
grep -qx 'created 9 threads' "$T/out" || fail "the program's output changed"
load_profile "$T/tc.prof"
sed -n '/^Samples/,/^Locations/p' "$T/tc.prof.raw"
grep -q '^threadcreate/count' "$T/tc.prof.raw" || fail "sample type is not threadcreate/count"
count() { # FOLDED SITE: creations under SITE
	awk -F '\t' -v s="$2" '$2 ~ (";" s ";") { n += $1 } END { print n + 0 }' "$1"
}
check_counts() {
	for pair in cp_w_site_five:5 cp_w_site_three:3 cp_w_site_one:1; do
		site=${pair%:*}
		want=${pair#*:}
		got=$(count "$1" "$site")
		[ "$got" = "$want" ] || fail "$2: $got creations under $site, want $want"
	done
	[ "$(sample_total "$1")" = 9 ] || fail "$2: $(sample_total "$1") creations in all, want 9"
}
check_counts "$T/tc.prof.folded" "protobuf"
# The clone site itself (a frameless leaf without CFI) unwinds to main.
grep -q '^1	__clone3;__clone_internal;create_thread;__pthread_create_2_1;create_join;cp_w_site_one;main' "$T/tc.prof.folded" ||
	fail "the stack at the clone event is not complete from __clone3 to main"
load_profile "$T/cpu.prof"

# debug=1: Go's count format.
run_cprof record -q --debug=1 -o "$T/cpu.txt" --threadcreate="$T/tc.txt" -- "$w"
expect_rc 0 "record --threadcreate --debug=1"
head -1 "$T/tc.txt" | grep -qx 'threadcreate profile: total 9' || fail "debug=1 header: $(head -1 "$T/tc.txt")"
grep -Eq '^[0-9]+ @$' "$T/tc.txt" && fail "an empty '@' line"
grep -Eq '^5 @( 0x[0-9a-f]+)+$' "$T/tc.txt" || fail "no '5 @ ...' record"
load_profile "$T/tc.txt"
[ "$(sample_total "$T/tc.txt.folded")" = 9 ] || fail "pprof reads other than 9 creations from debug=1"

# attach --threadcreate: the late threads and the fork are counted.
rm -f "$T/ready" "$T/late"
"$WORKLOADS/w-threads" 5 "$T/ready" "$T/late" >"$T/wout" 2>&1 &
wpid=$!
forget_later "$wpid"
wait_file "$T/ready" 5 || fail "w-threads did not start"
(sleep 0.7 && : >"$T/late") &
run_cprof attach -q -p "$wpid" -d 1.5 -o "$T/a.prof" --threadcreate="$T/atc.prof"
expect_rc 0 "attach --threadcreate"
state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$wpid/status")
case $state in T | t) fail "the program was left stopped ($state)" ;; esac
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$wpid/status" || fail "the program is still traced"
wait "$wpid" || fail "the program failed after the detach"
grep -q '^done ' "$T/wout" || fail "the program did not finish normally"
load_profile "$T/atc.prof"
cat "$T/atc.prof.folded"
[ "$(sample_total "$T/atc.prof.folded")" = 3 ] ||
	fail "$(sample_total "$T/atc.prof.folded") creations after the attach, want 3 (2 threads, 1 fork)"
grep -q 'fork' "$T/atc.prof.folded" || fail "the fork is not under a fork stack"

echo "PASS: $me"
