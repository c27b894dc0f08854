# SPDX-License-Identifier: MIT
# Sourced by every tests/e2e/t-*.sh (POSIX sh).
#
# Make check exports CPROF, WORKLOADS, GO, MANDOC, GROFF, abs_top_srcdir and
# abs_top_builddir (see AM_TESTS_ENVIRONMENT in Makefile.am).  To run one test
# by hand from a build directory:
#     make check TESTS=tests/e2e/t-record-basic.sh
#
# Exit statuses follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
# With CI=true a skip is a failure: missing permissions or tools must never
# look like a pass in CI.
#
# Helpers:
#   skip REASON / fail MSG / note MSG
#   run_cprof ARGS...        run "$CPROF" ARGS; stdout in $T/out, stderr in
#                            $T/err, exit status in $rc; both are logged
#   expect_rc N WHAT         fail unless $rc is N
#   expect_err PATTERN WHAT  fail unless $T/err matches the grep -E PATTERN
#   need_go                  skip unless go tool pprof can run
#   pprof_raw FILE           go tool pprof -raw -symbolize=none FILE
#   pprof_top FILE           go tool pprof -top -symbolize=none FILE
#   load_profile FILE        check that pprof reads FILE; writes FILE.raw and
#                            FILE.folded (see raw_folded)
#   raw_folded RAW           one line per sample: COUNT TAB FRAMES TAB LABELS,
#                            FRAMES leaf first, separated by ';'
#   flat_share FOLDED FUNC   percentage (integer) of samples whose leaf is FUNC
#   sample_total FOLDED      number of samples (first value column)
#   top_flat_pct FILE FUNC   flat% of FUNC in pprof -top (integer), or -1
#   check_sanitizers FILE    fail if FILE holds a sanitizer report
#   forget_later PID         kill PID (if still there) when the test ends
#   wait_gone PID SECS       wait for PID to exit (or be a zombie)
#   wait_file FILE SECS      wait for FILE to appear
#   children_of PID          the pids whose parent is PID
#   now_ms                   wall clock in milliseconds

set -u

me=$(basename "$0" .sh)

note() {
	echo "# $*"
}

# The folded samples of the profile load_profile read last: a failure shows
# its heaviest stacks, which is what a flaky share or count needs explained.
last_folded=
fail() {
	echo "FAIL: $me: $*"
	if [ -n "$last_folded" ] && [ -s "$last_folded" ]; then
		echo "# the heaviest stacks of $last_folded (count, frames leaf first):"
		sort -k1,1nr "$last_folded" | head -n 12 | cut -c1-300 | sed 's/^/#   /'
	fi
	exit 1
}

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $me: would skip ($*), and a skip in CI is a failure"
		exit 1
	fi
	echo "SKIP: $me: $*"
	exit 77
}

for v in CPROF WORKLOADS; do
	eval "val=\${$v:-}"
	if [ -z "$val" ]; then
		echo "ERROR: $v is not set; run the end-to-end tests through make check" >&2
		exit 99
	fi
done
GO=${GO:-}
MANDOC=${MANDOC:-}
GROFF=${GROFF:-}

# No core files from the signal tests, whatever the machine's default.
ulimit -c 0 2>/dev/null

T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-$me.XXXXXX") || {
	echo "ERROR: cannot create a temporary directory" >&2
	exit 99
}

# Processes a test started in the background and must not leave behind.
bg_pids=
forget_later() {
	bg_pids="$bg_pids $1"
}

cleanup() {
	for p in $bg_pids; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

rc=
run_cprof() {
	echo "+ cprof $*"
	"$CPROF" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	sed 's/^/  stdout: /' "$T/out"
	sed 's/^/  stderr: /' "$T/err"
	echo "  exit status $rc"
	check_sanitizers "$T/err"
}

# A sanitizer build reports on stderr; make such a report a failure even if
# the exit status happens to be the expected one.
check_sanitizers() {
	if grep -Eq 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$1"; then
		fail "sanitizer report on cprof's stderr (see above)"
	fi
}

expect_rc() {
	[ "$rc" = "$1" ] || fail "$2: exit status $rc, want $1"
}

expect_err() {
	grep -Eq -- "$1" "$T/err" || fail "$2: stderr does not match '$1'"
}

need_go() {
	[ -n "$GO" ] && [ -x "$GO" ] || skip "go not found: go tool pprof is needed to read profiles"
	"$GO" tool pprof -h >/dev/null 2>&1 || skip "'$GO tool pprof' does not run"
}

pprof_raw() {
	"$GO" tool pprof -raw -symbolize=none "$1"
}

pprof_top() {
	"$GO" tool pprof -top -symbolize=none "$1"
}

load_profile() {
	[ -s "$1" ] || fail "no profile at $1"
	pprof_raw "$1" >"$1.raw" 2>"$1.raw.err" || {
		cat "$1.raw.err"
		fail "go tool pprof cannot read $1"
	}
	raw_folded "$1.raw" >"$1.folded"
	last_folded=$1.folded
}

# Parse the text of `pprof -raw` (profile.String() in Go 1.19):
#   Samples:
#   samples/count cpu/nanoseconds
#            37  370000000: 1 2 3
#                   thread:[cp-worker]
#   Locations
#        1: 0x4b6f66 M=1 main.leaf goref/main.go:15 s=0
#                main.inlinedcaller ...      (further inline lines)
#   Mappings
#   1: 0x400000/0x4b8000/0x0 /path/bin buildid [FN]
# A location without a function prints as its address.
raw_folded() {
	awk '
	function flush() {
		if (cnt != "") {
			n++
			scnt[n] = cnt; sids[n] = ids; slab[n] = labels
		}
		cnt = ""; ids = ""; labels = ""
	}
	/^Samples:/ { sec = "s"; next }
	/^Locations/ { flush(); sec = "l"; next }
	/^Mappings/ { sec = "m"; next }
	sec == "s" && /^ *-?[0-9]+( +-?[0-9]+)*: / {
		flush()
		i = index($0, ": ")
		split(substr($0, 1, i - 1), v, " ")
		cnt = v[1]
		ids = substr($0, i + 2)
		next
	}
	sec == "s" && cnt != "" && /^ +[^ ]+:\[/ {
		l = $0
		sub(/^ +/, "", l)
		labels = labels (labels == "" ? "" : " ") l
		next
	}
	sec == "l" && /^ *[0-9]+: 0x/ {
		id = $1
		sub(/:$/, "", id)
		cur = id
		nm = ""
		for (f = 3; f <= NF; f++) {
			if ($f ~ /^M=/ || $f == "[F]")
				continue
			nm = $f
			break
		}
		name[id] = (nm == "" ? $2 : nm)
		next
	}
	sec == "l" && cur != "" && /^ +[^ ]/ { name[cur] = name[cur] ";" $1; next }
	END {
		flush()
		for (k = 1; k <= n; k++) {
			m = split(sids[k], a, " ")
			fr = ""
			for (j = 1; j <= m; j++)
				fr = fr (j > 1 ? ";" : "") (a[j] in name ? name[a[j]] : "id" a[j])
			printf "%s\t%s\t%s\n", scnt[k], fr, slab[k]
		}
	}' "$1"
}

sample_total() {
	awk -F '\t' '{ t += $1 } END { print t + 0 }' "$1"
}

flat_share() {
	awk -F '\t' -v fn="$2" '
	{ t += $1; split($2, f, ";"); if (f[1] == fn) h += $1 }
	END { print (t ? int(100 * h / t) : 0) }' "$1"
}

top_flat_pct() {
	pprof_top "$1" 2>/dev/null | awk -v fn="$2" '
	NF == 6 && $6 == fn { p = $2; sub(/%$/, "", p); print int(p); found = 1; exit }
	END { if (!found) print -1 }'
}

# Wait up to $2 seconds (in tenths) for process $1 to exit; 0 if it did.
wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		# A zombie child of this shell also answers kill -0: look at its state.
		case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) in
		Z | "") return 0 ;;
		esac
		[ "$i" -ge "$(($2 * 10))" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# Wait up to $2 seconds for file $1 to appear.
wait_file() {
	i=0
	while [ ! -e "$1" ]; do
		[ "$i" -ge "$(($2 * 10))" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# Child pids of process $1, from the ppid field of /proc/PID/stat (the
# kernel may lack /proc/PID/task/TID/children).
children_of() {
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest=${line##*) } # after "pid (comm) ": state ppid ...
		rest=${rest#* }
		[ "${rest%% *}" = "$1" ] || continue
		f=${f#/proc/}
		echo "${f%/stat}"
	done
}

now_ms() {
	date +%s%3N
}
