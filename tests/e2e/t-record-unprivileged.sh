#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof record as an unprivileged user (nobody, no capabilities): at
# kernel.perf_event_paranoid <= 2 a user may profile its own processes in
# user space, so the profile is valid, has the hot function and no kernel
# frames.  Needs root to become nobody.
. "$(dirname "$0")/lib.sh"

need_go
[ "$(id -u)" = 0 ] || skip "needs root to switch to user nobody"
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) not found"
id nobody >/dev/null 2>&1 || skip "no user nobody"
group=$(id -gn nobody)

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null)
note "kernel.perf_event_paranoid=$paranoid"
[ -n "$paranoid" ] && [ "$paranoid" -gt 2 ] &&
	skip "kernel.perf_event_paranoid=$paranoid forbids unprivileged profiling"

as_nobody() {
	setpriv --reuid=nobody --regid="$group" --clear-groups --inh-caps=-all "$@"
}

# The build tree may sit below a directory nobody cannot enter (/root):
# copy cprof and the workload into a directory it can.
chmod 755 "$T"
mkdir "$T/bin" "$T/out"
cp "$CPROF" "$T/bin/cprof"
cp "$WORKLOADS/w-spin" "$WORKLOADS/libcpwork.so" "$T/bin/"
chmod 755 "$T/bin" "$T/bin/"*
chmod 1777 "$T/out"
as_nobody test -x "$T/bin/cprof" ||
	skip "$T is not reachable for nobody (is ${TMPDIR:-/tmp} private?)"

caps=$(as_nobody sh -c 'id -u; sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status')
note "as nobody: uid and CapEff: $(echo $caps)"
set -- $caps
[ "$1" = "$(id -u nobody)" ] || fail "setpriv did not switch to nobody"
[ "${2:-x}" = 0000000000000000 ] || fail "nobody still has capabilities ($2)"

p=$T/out/nobody.prof
echo "+ (as nobody) cprof record -o $p -- w-spin 1"
as_nobody "$T/bin/cprof" record -o "$p" -- "$T/bin/w-spin" 1 >"$T/stdout" 2>"$T/err"
rc=$?
sed 's/^/  stderr: /' "$T/err"
echo "  exit status $rc"
check_sanitizers "$T/err"
if [ "$rc" = 125 ] && grep -q perf_event_paranoid "$T/err"; then
	fail "cprof could not open perf events as nobody although kernel.perf_event_paranoid=$paranoid allows it"
fi
expect_rc 0 "record as nobody"
[ "$(stat -c %U "$p")" = nobody ] || fail "the profile is not owned by nobody"
load_profile "$p"
sed -n '1,8p' "$p.raw"

share=$(flat_share "$p.folded" cp_w_hot_leaf)
note "cp_w_hot_leaf flat share: $share%"
[ "$share" -gt 50 ] || fail "cp_w_hot_leaf has $share% of the samples, want > 50%"
grep -q cpwork_spin "$p.folded" || fail "cpwork_spin (in libcpwork.so) is missing"

# No kernel frames: no location in the kernel half of the address space,
# no kernel mapping.
kern=$(grep -Ei '^ *[0-9]+: 0xffff[89a-f][0-9a-f]{11} ' "$p.raw" | head -3)
[ -z "$kern" ] || fail "kernel frames in a profile recorded by nobody: $kern"
sed -n '/^Mappings/,$p' "$p.raw" | grep -Eq 'kernel|vmlinux' &&
	fail "a kernel mapping in a profile recorded by nobody"

# A profile nobody cannot write: refused before the command runs.
mkdir "$T/ro"
chmod 755 "$T/ro"
echo "+ (as nobody) cprof record -o $T/ro/p.prof -- touch $T/out/ran"
as_nobody "$T/bin/cprof" record -o "$T/ro/p.prof" -- touch "$T/out/ran" >"$T/stdout" 2>"$T/err"
rc=$?
sed 's/^/  stderr: /' "$T/err"
check_sanitizers "$T/err"
expect_rc 125 "output in a directory nobody cannot write"
expect_err "^cprof: .*ro/p\.prof" "unwritable output: message names the path"
expect_err "Permission denied" "unwritable output: message gives the cause"
[ -e "$T/out/ran" ] && fail "the command ran although the output was not writable"

# No locked memory beyond perf_event_mlock_kb (ulimit -l 0): rings of 8 MiB
# are refused, and all of them shrink until they fit.
if command -v prlimit >/dev/null 2>&1; then
	p=$T/out/memlock.prof
	echo "+ (as nobody, ulimit -l 0) cprof record -v -m 8M -o $p -- w-spin 0.5"
	prlimit --memlock=0 setpriv --reuid=nobody --regid="$group" --clear-groups \
		--inh-caps=-all "$T/bin/cprof" record -v -m 8M -o "$p" -- "$T/bin/w-spin" 0.5 \
		>"$T/stdout" 2>"$T/err"
	rc=$?
	grep -E 'rings|profiled|lost|cannot|mmap' "$T/err" | sed 's/^/  stderr: /'
	echo "  exit status $rc"
	check_sanitizers "$T/err"
	expect_rc 0 "record at ulimit -l 0"
	expect_err "refused, trying" "ulimit -l 0: the rings were not shrunk"
	load_profile "$p"
	[ "$(sample_total "$p.folded")" -ge 30 ] ||
		fail "ulimit -l 0: $(sample_total "$p.folded") samples for 0.65 s of CPU at 100 Hz"
else
	note "prlimit (util-linux) not found: ulimit -l 0 not tested"
fi

echo "PASS: $me"
