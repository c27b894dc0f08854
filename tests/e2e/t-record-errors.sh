#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof record's failures: a command that cannot run (127, 126), an output
# path that cannot be written (125, refused before the command starts), bad
# options (125 with usage), and no profile left behind or clobbered.
. "$(dirname "$0")/lib.sh"

need_go

# Every failing run below writes into $out, which must stay empty: no
# profile and no temporary file left behind.
out=$T/out.d
mkdir "$out"
expect_out_empty() {
	left=$(ls -A "$out")
	[ -z "$left" ] || fail "$1: files left behind: $left"
}

# A good profile that no failing run may clobber.
keep=$T/keep.prof
run_cprof record -q -o "$keep" -- "$WORKLOADS/w-exit" code 0
expect_rc 0 "the run that writes the good profile"
cp "$keep" "$T/keep.orig"
expect_kept() {
	cmp -s "$keep" "$T/keep.orig" || fail "$1: the existing profile $keep was changed"
}

# Command not found: 127.
run_cprof record -o "$out/p.prof" -- cprof-no-such-command-1
expect_rc 127 "missing command"
expect_err "^cprof: .*cprof-no-such-command-1" "missing command: message names the command"
expect_err "No such file or directory" "missing command: message gives the cause"
expect_out_empty "missing command"
run_cprof record -o "$out/p.prof" -- ''
expect_rc 127 "an empty command name"
expect_out_empty "an empty command name"
run_cprof record -o "$keep" -- "$T/no/such/path/cmd"
expect_rc 127 "missing command given as a path"
expect_kept "missing command"

# Not executable: 126.
printf '#!/bin/sh\nexit 0\n' >"$T/notexec"
chmod 644 "$T/notexec"
run_cprof record -o "$out/p.prof" -- "$T/notexec"
expect_rc 126 "command without execute permission"
expect_err "^cprof: .*notexec" "non-executable command: message names it"
expect_err "Permission denied" "non-executable command: message gives the cause"
expect_out_empty "non-executable command"
run_cprof record -o "$keep" -- "$T"
expect_rc 126 "a directory as the command"
expect_kept "a directory as the command"

# Unwritable output: 125, and the command never runs.
marker=$T/ran
run_cprof record -o "$T/nodir/p.prof" -- touch "$marker"
expect_rc 125 "output in a missing directory"
expect_err "^cprof: .*nodir/p\.prof" "output in a missing directory: message names the path"
expect_err "No such file or directory" "output in a missing directory: message gives the cause"
[ -e "$marker" ] && fail "the command ran although the output path was not writable"
[ -e "$T/nodir" ] && fail "cprof created the missing directory"

mkdir "$T/adir"
run_cprof record -o "$T/adir" -- touch "$marker"
expect_rc 125 "output is a directory"
expect_err "^cprof: .*adir" "output is a directory: message names the path"
[ -e "$marker" ] && fail "the command ran although the output path is a directory"
[ -z "$(ls -A "$T/adir")" ] || fail "output is a directory: files left in it"

if [ "$(id -u)" != 0 ]; then
	# Root writes anywhere, so this case only means something for others.
	mkdir "$T/ro"
	chmod 555 "$T/ro"
	run_cprof record -o "$T/ro/p.prof" -- touch "$marker"
	expect_rc 125 "output in a read-only directory"
	expect_err "Permission denied" "output in a read-only directory: message gives the cause"
	[ -e "$marker" ] && fail "the command ran although the output directory is read-only"
fi

# Usage errors: 125 and a usage message (or a pointer to --help).
usage_re='[Uu]sage|--help'
check_usage_error() {
	what=$1
	shift
	run_cprof "$@"
	expect_rc 125 "$what"
	expect_err "^cprof: " "$what: a message on stderr that starts with 'cprof: '"
	expect_err "$usage_re" "$what: usage text"
	[ -e "$marker" ] && fail "$what: the command ran"
	[ -s "$T/out" ] && fail "$what: cprof wrote to stdout"
	expect_out_empty "$what"
	expect_kept "$what"
}
check_usage_error "unknown option" record --no-such-option -o "$keep" -- touch "$marker"
check_usage_error "unknown short option" record -Z -o "$keep" -- touch "$marker"
check_usage_error "no command" record -o "$keep"
check_usage_error "no command after --" record -o "$keep" --
check_usage_error "-o without an argument" record -o
check_usage_error "-F 0" record -F 0 -o "$keep" -- touch "$marker"
check_usage_error "-F abc" record -F abc -o "$keep" -- touch "$marker"
check_usage_error "-F 10000000" record -F 10000000 -o "$keep" -- touch "$marker"
check_usage_error "-F -5" record -F -5 -o "$keep" -- touch "$marker"
check_usage_error "-F 100x" record --freq=100x -o "$keep" -- touch "$marker"
check_usage_error "-o ''" record -o '' -- touch "$marker"
check_usage_error "-g bogus" record -g bogus -o "$keep" -- touch "$marker"
check_usage_error "--stack-size=10" record --stack-size=10 -o "$keep" -- touch "$marker"
for m in 0 3 100 1000K 1x -8; do
	check_usage_error "-m $m" record -m "$m" -o "$keep" -- touch "$marker"
done
max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null)
if [ -n "$max" ]; then
	check_usage_error "-F above kernel.perf_event_max_sample_rate ($max)" \
		record -F $((max + 1)) -o "$keep" -- touch "$marker"
fi

# Without a valid subcommand: a failure status and a usage message.  (The
# status is not pinned here: 125 is the contract of record only.)
for args in no-such-subcommand --no-such-option ""; do
	# shellcheck disable=SC2086
	run_cprof $args
	[ "$rc" != 0 ] || fail "'cprof $args' exits 0"
	expect_err "$usage_re" "'cprof $args': usage text"
	[ -s "$T/out" ] && fail "'cprof $args': usage went to stdout, want stderr"
done

# Help and version go to stdout and succeed.
for args in --help -h help "record --help" --version -V; do
	# shellcheck disable=SC2086
	run_cprof $args
	expect_rc 0 "cprof $args"
	grep -q . "$T/out" || fail "cprof $args: nothing on stdout"
done
run_cprof --version
grep -q cprof "$T/out" || fail "--version does not name cprof"

# -F at the edges of its range works; an empty profile is still a profile.
run_cprof record -q -F 1 -o "$out/f1.prof" -- true
expect_rc 0 "-F 1"
load_profile "$out/f1.prof"
grep -qx 'Period: 1000000000' "$out/f1.prof.raw" || fail "-F 1: period is not 1e9 ns"
rm -f "$out"/f1.prof*
if [ -n "$max" ]; then
	run_cprof record -q -F "$max" -o "$out/fmax.prof" -- "$WORKLOADS/w-exit" code 0
	expect_rc 0 "-F $max (kernel.perf_event_max_sample_rate)"
	load_profile "$out/fmax.prof"
	rm -f "$out"/fmax.prof*
fi

echo "PASS: $me"
