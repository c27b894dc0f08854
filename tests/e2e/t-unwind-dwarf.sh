#!/bin/sh
# SPDX-License-Identifier: MIT
# Online DWARF unwinding of code built -O2 -fomit-frame-pointer: stacks reach
# the thread's root through a shared library, libc, the vdso and signal
# frames; CPU shares match the designed split; a 300-frame recursion unwinds
# completely at the default stack size; a stack that cannot be finished ends
# in an explicit [truncated] frame and is reported.
. "${abs_top_srcdir}/tests/e2e/lib.sh"
need_go

# Share (integer %) of the samples in FOLDED whose outermost frame is one of
# the names in the regular expression ROOTS.
root_share() {
	awk -F '\t' -v roots="^($2)\$" '
	{ t += $1; n = split($2, f, ";"); if (f[n] ~ roots) r += $1 }
	END { print (t ? int(100 * r / t) : 0) }' "$1"
}

within() { # VALUE WANT TOLERANCE
	[ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]
}

# --- the designed split: 50 / 30 / 20 % --------------------------------------
p=$T/split.prof
run_cprof record -F 499 -o "$p" -- "$WORKLOADS/w-split" 3
expect_rc 0 "w-split"
expect_err '100\.0% of stacks complete|99\.[0-9]% of stacks complete' "complete-stack share in the report"
load_profile "$p"
share=$(root_share "$p.folded" '_start')
note "samples reaching _start: $share%"
[ "$share" -ge 99 ] || fail "only $share% of w-split samples reach _start"
a=$(flat_share "$p.folded" cp_w_split_a)
b=$(flat_share "$p.folded" cp_w_split_b)
c=$(flat_share "$p.folded" cp_w_split_c)
note "split: a=$a% b=$b% c=$c% (designed 50/30/20)"
within "$a" 50 3 || fail "cp_w_split_a has $a% of samples, want 50 +- 3"
within "$b" 30 3 || fail "cp_w_split_b has $b% of samples, want 30 +- 3"
within "$c" 20 3 || fail "cp_w_split_c has $c% of samples, want 20 +- 3"
grep -q '^[0-9]*	cp_w_split_b;cpunwind_call;main;' "$p.folded" ||
	fail "cp_w_split_b is not reached through libcpunwind.so's cpunwind_call"
grep -Eq '^[0-9]*	cp_w_split_c;by_value;([^;]*;)*[^;]*qsort[^;]*;([^;]*;)*main;' "$p.folded" ||
	fail "cp_w_split_c is not reached from main through libc's qsort"

# --- 300 frames of recursion at the default stack size -------------------------
p=$T/deep.prof
run_cprof record -o "$p" -- "$WORKLOADS/w-deep" 300 1
expect_rc 0 "w-deep"
load_profile "$p"
deep=$(awk -F '\t' '$2 ~ /^cp_w_deep_leaf;/ {
	n = split($2, f, ";"); d = 0
	for (i = 1; i <= n; i++) if (f[i] == "cp_w_deep_recurse") d++
	if (f[n] != "_start") d = -1
	print d }' "$p.folded" | sort -n | uniq -c)
note "recursion depth at cp_w_deep_leaf (count depth): $(echo $deep)"
[ -n "$deep" ] || fail "no samples in cp_w_deep_leaf"
echo "$deep" | awk '$2 != 300 { bad = 1 } END { exit bad }' ||
	fail "not every deep stack holds 300 cp_w_deep_recurse frames down to _start"

# --- too small a stack copy: an explicit [truncated] frame, counted ------------
p=$T/small.prof
run_cprof record --stack-size=4096 -o "$p" -- "$WORKLOADS/w-deep" 300 0.5
expect_rc 0 "w-deep with a small stack copy"
expect_err '[1-9][0-9]* truncated' "truncated stacks counted in the report"
load_profile "$p"
grep -q ';\[truncated\]	' "$p.folded" || fail "truncated stacks do not end in a [truncated] frame"

# --- signal frames: handler -> __restore_rt -> interrupted code ---------------
p=$T/signal.prof
run_cprof record -F 997 -o "$p" -- "$WORKLOADS/w-signal" 1
expect_rc 0 "w-signal"
load_profile "$p"
[ "$(flat_share "$p.folded" cp_w_in_handler)" -ge 10 ] || fail "too few samples in the signal handler"
grep -q '^[0-9]*	cp_w_in_handler;on_alarm;__restore_rt;cp_w_interrupted;main;' "$p.folded" ||
	fail "handler stacks do not unwind through __restore_rt into cp_w_interrupted"
share=$(root_share "$p.folded" '_start')
[ "$share" -ge 99 ] || fail "only $share% of w-signal samples reach _start"

# Kernel frames, where the kernel allows them, continue into the user stack:
# w-signal reads its CPU clock with a real system call many times a second.
if grep -q 'user space only' "$T/err"; then
	note "kernel samples not permitted here: joined stacks not checked"
else
	grep -Eq '^[0-9]*	([^;]*;)*(do_syscall_64|entry_SYSCALL_64[^;]*);([^;]*;)*[^;]*clock_gettime[^;]*;([^;]*;)*main;([^;]*;)*_start	' "$p.folded" ||
		fail "no stack joins kernel frames (do_syscall_64) to the user stack down to _start"
fi

# --- threads reach their root; the vdso unwinds ---------------------------------
p=$T/spin.prof
run_cprof record -F 499 -o "$p" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "w-spin"
load_profile "$p"
grep 'thread:\[cp-worker\]' "$p.folded" >"$T/worker.folded"
share=$(root_share "$T/worker.folded" '__clone3|clone3|start_thread|__clone')
note "worker samples reaching the thread root: $share%"
[ "$share" -ge 99 ] || fail "only $share% of worker-thread samples reach clone3/start_thread"
if grep -q '__vdso_clock_gettime' "$p.folded"; then
	grep '__vdso_clock_gettime' "$p.folded" | grep -Eqv ';(_start|__clone3|clone3|start_thread)	' &&
		fail "a stack through the vdso does not reach its root"
fi

# --- frame-pointer mode still works ---------------------------------------------
p=$T/fp.prof
run_cprof record --call-graph=fp -o "$p" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "--call-graph=fp"
load_profile "$p"
[ "$(flat_share "$p.folded" cp_w_hot_leaf)" -ge 50 ] || fail "fp mode: cp_w_hot_leaf does not dominate"

run_cprof record --call-graph=lbr -o "$T/x.prof" -- true
expect_rc 125 "an unknown call graph mode"
expect_err "invalid call graph mode 'lbr'" "message for an unknown mode"
exit 0
