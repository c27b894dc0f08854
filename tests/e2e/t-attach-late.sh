#!/bin/sh
# SPDX-License-Identifier: MIT
# Threads and a child process that the program starts after cprof attached
# are sampled too (the events are inherited), under their own names.
. "${abs_top_srcdir}/tests/e2e/lib.sh"

need_go
rm -f "$T/ready" "$T/late"
"$WORKLOADS/w-threads" 4 "$T/ready" "$T/late" >"$T/wout" 2>&1 &
wpid=$!
forget_later "$wpid"
wait_file "$T/ready" 5 || fail "w-threads did not start"

p=$T/late.prof
(sleep 0.8 && : >"$T/late") &
run_cprof attach -p "$wpid" -d 2.5 -o "$p"
expect_rc 0 "attach"
wait "$wpid" || fail "the program failed after the detach"
grep -q '^started late threads' "$T/wout" || fail "the program did not start its late threads"
load_profile "$p"
for f in cp_w_busy_leaf cp_w_late_leaf cp_w_child_leaf; do
	n=$(awk -F '\t' -v fn="$f" '{ split($2, s, ";"); if (s[1] == fn) n += $1 } END { print n + 0 }' "$p.folded")
	note "$f: $n samples"
	[ "$n" -ge 5 ] || fail "$f has $n samples: threads or children started after the attach are missing"
done
grep 'cp_w_late_leaf' "$p.folded" | grep -q 'thread:\[cp-late\]' || fail "late threads are not named cp-late"
grep 'cp_w_child_leaf' "$p.folded" | grep -q 'cp_w_child_leaf;main;' ||
	fail "the child's stack does not reach main"

echo "PASS: $me"
