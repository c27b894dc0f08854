#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof record exits like the command it ran (128+N for a death by signal N),
# waits for the command's orphaned descendants and profiles them, and passes
# the command's arguments through untouched.
. "$(dirname "$0")/lib.sh"

need_go
w=$WORKLOADS/w-exit

for code in 0 3 42 255; do
	run_cprof record -q -o "$T/code.prof" -- "$w" code "$code"
	expect_rc "$code" "w-exit code $code"
	[ -s "$T/code.prof" ] || fail "no profile after w-exit code $code"
done
load_profile "$T/code.prof"
grep -q cp_w_exit_burn "$T/code.prof.folded" || fail "cp_w_exit_burn is not in the profile"

# Death by signal N gives 128+N, and the profile is still written.
for sig in 15:143 11:139 9:137 6:134; do
	rm -f "$T/sig.prof"
	run_cprof record -q -o "$T/sig.prof" -- "$w" signal "${sig%:*}"
	expect_rc "${sig#*:}" "w-exit signal ${sig%:*}"
	load_profile "$T/sig.prof"
	grep -q cp_w_exit_burn "$T/sig.prof.folded" ||
		fail "cp_w_exit_burn is missing from the profile of a command killed by signal ${sig%:*}"
done

# An orphan: w-exit exits at once, its child burns 0.5 s of CPU and then
# creates a marker.  cprof must wait for the child and include its samples.
start=$(now_ms)
run_cprof record -q -o "$T/orphan.prof" -- "$w" orphan "$T/orphan-done"
end=$(now_ms)
expect_rc 0 "w-exit orphan"
note "record of the orphan took $((end - start)) ms"
[ -e "$T/orphan-done" ] ||
	fail "cprof returned before the orphaned child finished (no marker after $((end - start)) ms)"
load_profile "$T/orphan.prof"
grep -q cp_w_orphan_work "$T/orphan.prof.folded" ||
	fail "cp_w_orphan_work (the orphaned child's work) is not in the profile"
n=$(awk -F '\t' '$2 ~ /(^|;)cp_w_orphan_work(;|$)/ { n += $1 } END { print n + 0 }' "$T/orphan.prof.folded")
note "cp_w_orphan_work samples: $n"
[ "$n" -ge 20 ] || fail "only $n samples of cp_w_orphan_work for 0.5 s of CPU at 100 Hz"

# A child the command forks and execs is profiled and symbolized too, even
# when its binary is deleted while it runs.
mkdir "$T/del"
cp "$WORKLOADS/w-spin" "$WORKLOADS/libcpwork.so" "$T/del/"
run_cprof record -o "$T/child.prof" -- sh -c \
	"'$T/del/w-spin' 0.5 & sleep 0.2; rm '$T/del/w-spin' '$T/del/libcpwork.so'; wait"
expect_rc 0 "sh running w-spin in the background"
load_profile "$T/child.prof"
share=$(flat_share "$T/child.prof.folded" cp_w_hot_leaf)
note "cp_w_hot_leaf in a child whose binary was deleted: $share%"
[ "$share" -gt 50 ] || fail "cp_w_hot_leaf has $share% of the samples of the shell's child, want > 50%"
grep -q cpwork_spin "$T/child.prof.folded" || fail "cpwork_spin is missing from the shell's child"

# Options end at the command, with or without "--"; arguments with spaces
# and arguments that look like cprof options reach the command unchanged.
run_cprof record -q -o "$T/sh.prof" sh -c 'exit 7'
expect_rc 7 "sh -c 'exit 7' without --"
run_cprof record -q -o "$T/sh.prof" -- sh -c 'exit 7'
expect_rc 7 "sh -c 'exit 7' after --"
# shellcheck disable=SC2016
run_cprof record -q -o "$T/sh.prof" -- sh -c '[ "$1" = "a  b" ] && [ "$2" = "-o" ] && [ "$3" = "" ] && [ $# = 3 ] && exit 9; exit 1' sh 'a  b' -o ''
expect_rc 9 "arguments with spaces, options and empty strings passed through"
run_cprof record -q -o "$T/sh.prof" -- "$w" code 5 -o x
expect_rc 2 "extra arguments reach the command (w-exit rejects them with status 2)"
# The command gets cprof's environment and standard input.
CP_TEST_VAR='x y' run_cprof record -q -o "$T/sh.prof" -- sh -c '[ "$CP_TEST_VAR" = "x y" ]'
expect_rc 0 "the environment reaches the command"
echo "from stdin" | run_cprof record -q -o "$T/sh.prof" -- sh -c 'read -r l && [ "$l" = "from stdin" ]'
expect_rc 0 "standard input reaches the command"
# The command's stdout is cprof's stdout, untouched.
run_cprof record -q -o "$T/sh.prof" -- sh -c 'echo "hello  world"'
expect_rc 0 "echo"
[ "$(cat "$T/out")" = "hello  world" ] || fail "the command's stdout was not passed through"

echo "PASS: $me"
