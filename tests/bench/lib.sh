# SPDX-License-Identifier: MIT
# Sourced by tests/bench/*.sh (POSIX sh).
#
#   bench_setup FILE...   exit unless every FILE is an executable that was
#                         built; make the scratch directory $tmp, removed at
#                         exit
# $me is the bench's name, for its messages.

set -u

me=$(basename "$0" .sh)

bench_setup() {
	for f in "$@"; do
		[ -x "$f" ] || {
			echo "$me: $f not built (make bench builds it)" >&2
			exit 1
		}
	done
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' HUP INT TERM
}
