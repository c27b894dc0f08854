#!/bin/sh
# SPDX-License-Identifier: MIT
# CPU samples carry the thread name, and with --labels numeric pid and tid;
# go tool pprof -tagfocus filters on them.  The end-of-run report lists the
# top functions and the command to view the profile; --quiet silences it.
. "$(dirname "$0")/lib.sh"

need_go

p=$T/labels.prof
run_cprof record --labels=pid,tid -o "$p" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record --labels=pid,tid"
expect_err "samples, [0-9]+ lost \([0-9.]+%\)" "the report counts samples and lost samples"
expect_err "[0-9.]+% of stacks complete" "the report gives the share of complete stacks"
expect_err "top 10 functions by cpu" "the report announces the top functions"
expect_err "^ +flat +flat% +sum% +cum +cum%$" "the report has pprof's columns"
expect_err "%  cp_w_hot_leaf$" "the report lists cp_w_hot_leaf"
expect_err "go tool pprof -http=: $p" "the report says how to view the profile"

load_profile "$p"
awk -F '\t' '$3 ~ /thread:\[cp-worker\]/ && $3 ~ /pid:\[[0-9]+\]/ && $3 ~ /tid:\[[0-9]+\]/ { ok = 1 }
END { exit !ok }' "$p.folded" || fail "no sample has thread, pid and tid labels"
pids=$(grep -o 'pid:\[[0-9]*\]' "$p.raw" | sort -u | wc -l)
tids=$(grep -o 'tid:\[[0-9]*\]' "$p.raw" | sort -u | wc -l)
note "distinct pids $pids, tids $tids"
[ "$pids" = 1 ] && [ "$tids" = 2 ] || fail "want 1 pid and 2 tids (w-spin and its worker)"

# -tagfocus keeps the worker thread's samples only.
"$GO" tool pprof -top -symbolize=none -tagfocus=thread=cp-worker "$p" >"$T/focus" 2>&1 ||
	fail "pprof -tagfocus=thread=cp-worker fails"
cat "$T/focus"
grep -q '%  cpwork_spin$' "$T/focus" || fail "-tagfocus=thread=cp-worker lost cpwork_spin"
grep -q 'cp_w_hot_leaf' "$T/focus" && fail "-tagfocus=thread=cp-worker kept the main thread"
tid=$(awk -F '\t' '$3 ~ /thread:\[cp-worker\]/ { match($3, /tid:\[[0-9]+\]/); print substr($3, RSTART + 5, RLENGTH - 6); exit }' "$p.folded")
"$GO" tool pprof -top -symbolize=none -tagfocus=tid="$tid" "$p" >"$T/focus" 2>&1 ||
	fail "pprof -tagfocus=tid=$tid fails"
grep -q '%  cpwork_spin$' "$T/focus" && ! grep -q 'cp_w_hot_leaf' "$T/focus" ||
	fail "-tagfocus=tid=$tid does not select the worker thread"

# Without --labels only the thread name; --labels=tid alone.
run_cprof record -q -o "$T/plain.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record without --labels"
[ -s "$T/err" ] && fail "--quiet: cprof wrote to stderr"
load_profile "$T/plain.prof"
grep -Eq '(pid|tid):\[' "$T/plain.prof.raw" && fail "pid or tid labels without --labels"
grep -q 'thread:\[w-spin\]' "$T/plain.prof.raw" || fail "no thread label without --labels"
run_cprof record -q --labels=tid -o "$T/tid.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record --labels=tid"
load_profile "$T/tid.prof"
grep -q 'pid:\[' "$T/tid.prof.raw" && fail "--labels=tid added pid labels"
grep -q 'tid:\[' "$T/tid.prof.raw" || fail "--labels=tid added no tid labels"

run_cprof record --labels=cpu -o "$T/x.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 125 "record --labels=cpu"
expect_err "invalid labels 'cpu'" "the bad label is named"
run_cprof record --debug=2 -o "$T/x.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 125 "record --debug=2"

echo "PASS: $me"
