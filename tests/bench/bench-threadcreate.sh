#!/bin/sh
# SPDX-License-Identifier: MIT
# Thread-creation rate of w-tcreate (threads created and joined one after
# the other) alone, under cprof record, and under cprof record
# --threadcreate (a ptrace stop and an unwind per creation).
#   sh tests/bench/bench-threadcreate.sh BUILDDIR [THREADS]
. "$(dirname "$0")/lib.sh"

b=${1:?usage: bench-threadcreate.sh BUILDDIR [THREADS]}
n=${2:-20000}
w=$b/tests/workloads/w-tcreate
bench_setup "$b/cprof" "$w"

rate() {
	sed -n 's/.*: \([0-9]*\) threads\/s$/\1/p'
}
for i in 1 2 3; do
	a=$("$w" bench "$n" | rate)
	r=$("$b/cprof" record -q -o "$tmp/c.prof" -- "$w" bench "$n" | rate)
	c=$("$b/cprof" record -q -o "$tmp/c.prof" --threadcreate="$tmp/tc.prof" -- "$w" bench "$n" | rate)
	echo "run $i: alone $a threads/s, record $r threads/s, record --threadcreate $c threads/s"
done
