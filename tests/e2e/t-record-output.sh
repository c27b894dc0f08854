#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof record -o naming something that exists but is not a regular file.
# The profile is written to a temporary file and renamed over the target;
# that must not turn a symlink, a FIFO or a device into a regular file
# (`cprof record -o /dev/null` as root would replace the system's /dev/null).
# A FIFO or a device may either be written to directly or be refused (125)
# before the command runs; a symlink's target gets the profile.
. "$(dirname "$0")/lib.sh"

need_go
w=$WORKLOADS/w-exit
problems=
problem() {
	echo "PROBLEM: $*"
	problems="$problems
  - $*"
}

# 1. A symlink: the profile lands in the link's target and the link stays.
ln -s target.prof "$T/link.prof"
run_cprof record -q -o "$T/link.prof" -- "$w" code 0
expect_rc 0 "-o a symlink"
if [ ! -L "$T/link.prof" ]; then
	problem "-o a symlink: cprof replaced the symlink by a regular file (its target was not written)"
else
	load_profile "$T/target.prof"
fi

# 2. A FIFO: a reader gets the whole profile, or cprof refuses it up front.
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.out" &
reader=$!
forget_later "$reader"
run_cprof record -q -o "$T/fifo" -- "$w" code 0
if [ ! -p "$T/fifo" ]; then
	problem "-o a FIFO: cprof replaced the FIFO by a regular file; its reader got nothing"
elif [ "$rc" = 0 ]; then
	wait_gone "$reader" 5 || fail "-o a FIFO: the reader saw no end of file"
	load_profile "$T/fifo.out"
else
	expect_rc 125 "-o a FIFO, refused"
	note "cprof refuses a FIFO as output"
fi

# 3. A character device: a copy of /dev/null, made with mknod (root only).
if mknod "$T/null" c 1 3 2>/dev/null; then
	run_cprof record -q -o "$T/null" -- "$w" code 0
	if [ ! -c "$T/null" ]; then
		problem "-o a character device: cprof replaced the device node by a regular file (so -o /dev/null as root replaces /dev/null)"
	elif [ "$rc" != 0 ]; then
		expect_rc 125 "-o a character device, refused"
		note "cprof refuses a device as output"
	fi
else
	note "mknod not permitted: -o a device not tested"
fi

[ -z "$problems" ] || fail "output paths that are not regular files:$problems"
echo "PASS: $me"
