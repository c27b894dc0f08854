#!/bin/sh
# SPDX-License-Identifier: MIT
# Go's debug=1 text round-trips through pprof: for each kind of profile
# (cpu, threadcreate, threads, and Go's own cpu, threadcreate, goroutine),
# `go tool pprof -raw` reads the protobuf and the text of the same profile
# into the same multiset of (values, addresses) stacks.  The text comes from
# `cprof report --debug=1` on the protobuf; `cprof record --debug=1` writes
# the same format directly.
. "$(dirname "$0")/lib.sh"

need_go
ref=${abs_top_srcdir:?}/tests/fixtures/go

# stacks RAW: one line per distinct address stack, "v1 v2 ... @ addr ...",
# values summed (the text has no labels, so pprof merges what labels split).
stacks() {
	awk '
	/^Samples:/ { sec = "s"; next }
	/^Locations/ { sec = "l"; next }
	/^Mappings/ { sec = "m"; next }
	sec == "s" && /^ *-?[0-9]+( +-?[0-9]+)*: / {
		n++
		i = index($0, ": ")
		vals[n] = substr($0, 1, i - 1)
		ids[n] = substr($0, i + 2)
		next
	}
	sec == "l" && /^ *[0-9]+: 0x/ { id = $1; sub(/:$/, "", id); addr[id] = $2; next }
	END {
		for (k = 1; k <= n; k++) {
			m = split(ids[k], a, " ")
			key = ""
			for (j = 1; j <= m; j++)
				key = key " " addr[a[j]]
			c = split(vals[k], v, " ")
			for (j = 1; j <= c; j++)
				sum[key, j] += v[j]
			ncol[key] = c
		}
		for (key in ncol) {
			line = ""
			for (j = 1; j <= ncol[key]; j++)
				line = line sum[key, j] " "
			print line "@" key
		}
	}' "$1" | sort
}

# check_text FILE: the shapes pprof's legacy parsers demand.
check_text() {
	head -1 "$1" | grep -Eqx -- '--- contention:|[^[:space:]]+ profile: total [0-9]+' ||
		fail "$1: header '$(head -1 "$1")' is neither contention nor count format"
	grep -n ' $' "$1" && fail "$1: trailing spaces"
	awk '/ @/ && !/^[0-9]+( [0-9]+)? @( 0x[0-9a-f]+)+$/ { print; bad = 1 } END { exit bad }' "$1" ||
		fail "$1: a record line is not 'N @ 0x...' with at least one lowercase address"
}

# roundtrip NAME PROTO: write the text of PROTO and compare pprof's readings.
roundtrip() {
	run_cprof report --debug=1 -o "$T/$1.txt" "$2"
	expect_rc 0 "report --debug=1 $1"
	check_text "$T/$1.txt"
	pprof_raw "$2" >"$T/$1.pb.raw" || fail "pprof cannot read $2"
	pprof_raw "$T/$1.txt" >"$T/$1.txt.raw" 2>"$T/$1.err" || {
		cat "$T/$1.err"
		fail "pprof cannot read the text of $1"
	}
	stacks "$T/$1.pb.raw" >"$T/$1.pb.stacks"
	stacks "$T/$1.txt.raw" >"$T/$1.txt.stacks"
	[ -s "$T/$1.pb.stacks" ] || fail "$1: no stacks in the protobuf"
	diff -u "$T/$1.pb.stacks" "$T/$1.txt.stacks" || fail "$1: text and protobuf differ"
	note "$1: $(wc -l <"$T/$1.pb.stacks") stacks alike in text and protobuf"
}

# cpu: a live run, written as protobuf, then as text.
run_cprof record -q -o "$T/cpu.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record w-spin"
roundtrip cpu "$T/cpu.prof"
head -3 "$T/cpu.txt"
# Both columns survive: [contentions, delay] are [samples, cpu ns].
sed -n '/^Samples:/{n;p;q;}' "$T/cpu.txt.raw" | grep -q 'contentions/count delay/nanoseconds' ||
	fail "the CPU text does not parse as contentions/count delay/nanoseconds"
grep -q '^#	0x[0-9a-f]*	cp_w_hot_leaf	.*w-spin.c:[0-9]' "$T/cpu.txt" ||
	fail "no '#' line with address, cp_w_hot_leaf and file:line"
grep -q '^--- Memory map: ---$' "$T/cpu.txt" || fail "no memory map section"

# threadcreate: where the threads of a run were created.
run_cprof record -q -o "$T/tc-cpu.prof" --threadcreate="$T/threadcreate.prof" -- "$WORKLOADS/w-tcreate"
expect_rc 0 "record --threadcreate"
roundtrip threadcreate "$T/threadcreate.prof"
head -1 "$T/threadcreate.txt" | grep -Eq '^threadcreate profile: total [0-9]+$' ||
	fail "threadcreate text header is '$(head -1 "$T/threadcreate.txt")'"

# threads: a snapshot of a running process.
"$WORKLOADS/w-spin" 5 &
spin=$!
forget_later "$spin"
sleep 0.5
run_cprof dump -p "$spin" --debug=0 -o "$T/threads.prof"
expect_rc 0 "dump --debug=0"
kill "$spin"
roundtrip threads "$T/threads.prof"
head -1 "$T/threads.txt" | grep -q '^threads profile: total 2$' ||
	fail "threads text header is '$(head -1 "$T/threads.txt")'"

# Go's own profiles: CPU, and the count profiles threadcreate and goroutine.
for kind in cpu threadcreate goroutine; do
	roundtrip "go-$kind" "$ref/$kind.prof"
done

# record --debug=1 writes the text itself, with function+offset in '#' lines.
run_cprof record -q --debug=1 -o "$T/direct.txt" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record --debug=1"
check_text "$T/direct.txt"
grep -q '^#	0x[0-9a-f]*	cp_w_hot_leaf+0x[0-9a-f]*	' "$T/direct.txt" ||
	fail "record --debug=1: no '#' line with cp_w_hot_leaf+0xOFFSET"
load_profile "$T/direct.txt"
[ "$(sample_total "$T/direct.txt.folded")" -gt 0 ] || fail "record --debug=1: pprof reads no samples"

echo "PASS: $me"
