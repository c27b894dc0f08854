#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof report reads any pprof profile and prints the top table exactly as
# `go tool pprof -top` does (on Go's own CPU profile and on cprof's), folded
# stacks, and clear errors with exit status 1 (bad file) or 2 (usage).
. "$(dirname "$0")/lib.sh"

need_go
ref=${abs_top_srcdir:?}/tests/fixtures/go

# same_top FILE N: cprof report --top=N prints what pprof -top -nodecount=N does.
same_top() {
	"$GO" tool pprof -top -nodecount="$2" -symbolize=none "$1" >"$T/go.top" 2>/dev/null ||
		fail "go tool pprof -top cannot read $1"
	run_cprof report --top="$2" "$1"
	expect_rc 0 "report --top=$2 $1"
	diff -u "$T/go.top" "$T/out" || fail "cprof report and pprof -top differ on $1"
}

same_top "$ref/cpu.prof" 10
grep -q 'main.leaf$' "$T/out" || fail "Go's profile: no main.leaf in the top table"
same_top "$ref/threadcreate.prof" 10
same_top "$ref/heap.prof" 0

run_cprof record -q -o "$T/spin.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record w-spin"
same_top "$T/spin.prof" 10
same_top "$T/spin.prof" 3
awk 'NR > 1 && prev ~ /flat%/ { exit !($6 == "cp_w_hot_leaf") } { prev = $0 }' "$T/out" ||
	fail "cp_w_hot_leaf is not the first row"
run_cprof report "$T/spin.prof"
expect_rc 0 "report without --top"
rows=$(awk 'seen { n++ } /^ +flat +flat%/ { seen = 1 } END { print n + 0 }' "$T/out")
[ "$rows" = 10 ] || fail "report prints $rows functions by default, want 10"

# --folded: root first, a count at the end, the samples of the protobuf.
run_cprof report --folded -o "$T/spin.folded" "$T/spin.prof"
expect_rc 0 "report --folded"
grep -Eq '^_start;.*;main;cp_w_hot_mid;cp_w_hot_leaf [0-9]+$' "$T/spin.folded" ||
	fail "no folded stack _start;...;main;cp_w_hot_mid;cp_w_hot_leaf N"
load_profile "$T/spin.prof"
want=$(sample_total "$T/spin.prof.folded")
got=$(awk '{ t += $NF } END { print t + 0 }' "$T/spin.folded")
[ "$got" = "$want" ] || fail "folded stacks hold $got samples, the profile $want"

# Errors.
run_cprof report "$T/missing.prof"
expect_rc 1 "report of a missing file"
expect_err "cannot read '$T/missing.prof'" "the missing file is named"
echo "not a profile" >"$T/junk"
run_cprof report "$T/junk"
expect_rc 1 "report of a non-profile"
expect_err "'$T/junk' is not a pprof profile" "the invalid file is named"
run_cprof report
expect_rc 2 "report without a file"
run_cprof report --top=x "$T/spin.prof"
expect_rc 2 "report --top=x"
run_cprof report --debug=2 "$T/spin.prof"
expect_rc 2 "report --debug=2"
run_cprof report --bogus "$T/spin.prof"
expect_rc 2 "report --bogus"
run_cprof report --help
expect_rc 0 "report --help"

echo "PASS: $me"
