#!/bin/sh
# SPDX-License-Identifier: MIT
# Signals and cprof record:
#  - SIGTERM to cprof stops collecting and writes the profile at once;
#  - SIGINT sent to cprof alone (kill) is forwarded to the command;
#  - a second SIGINT stops collecting even if the command ignores SIGINT;
#  - Ctrl-C at a terminal (a pseudo-terminal driven through script(1))
#    reaches the command, and cprof writes the profile once the command has
#    exited; a second Ctrl-C makes it write the profile at once.
# cprof exits with the command's status when the command exits: w-exit's
# SIGINT handler exits 130, the shell's status for a death by SIGINT.
. "$(dirname "$0")/lib.sh"

need_go
command -v setsid >/dev/null 2>&1 || skip "setsid (util-linux) not found"
w=$WORKLOADS/w-exit

# Start cprof in the background as a terminal's foreground job would be: in
# its own process group (pgid = pid), with SIGINT and SIGQUIT at their
# defaults (a shell without job control starts background jobs with them
# ignored).  Sets $pid.
start_cprof() {
	echo "+ cprof $* &"
	setsid env --default-signal=INT,QUIT "$CPROF" "$@" >"$T/out" 2>"$T/err" &
	pid=$!
	forget_later "$pid"
}

# Wait for cprof to exit after a signal; sets $rc and $ms (time since $t0).
finish_cprof() {
	wait_gone "$pid" "$1" || fail "$2: cprof still runs $1 s later"
	ms=$(($(now_ms) - t0))
	wait "$pid"
	rc=$?
	sed 's/^/  stdout: /' "$T/out"
	sed 's/^/  stderr: /' "$T/err"
	echo "  exit status $rc after $ms ms"
	check_sanitizers "$T/err"
}

# The command's pid: cprof's only child.
command_pid() {
	i=0
	while :; do
		cpid=$(children_of "$pid")
		[ -n "$cpid" ] && break
		[ "$i" -ge 50 ] && fail "cprof started no command"
		sleep 0.1
		i=$((i + 1))
	done
	forget_later "$cpid"
}

alive() {
	kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Say whether the command ($cpid) outlived cprof, and end it if it did.
end_command() {
	if alive "$cpid"; then
		note "the command (pid $cpid) still runs after cprof exits; the test kills it"
		kill -KILL "$cpid"
	else
		note "the command was ended with cprof"
	fi
}

# 1. SIGTERM while a 30 s workload runs: a whole profile, promptly.
p=$T/term.prof
start_cprof record -o "$p" -- "$WORKLOADS/w-spin" 30
command_pid
sleep 1.5
alive "$pid" || fail "cprof exited early"
t0=$(now_ms)
kill -TERM "$pid"
finish_cprof 5 "SIGTERM"
note "after SIGTERM cprof exits with status $rc"
end_command
load_profile "$p"
share=$(flat_share "$p.folded" cp_w_hot_leaf)
total=$(sample_total "$p.folded")
note "samples: $total, cp_w_hot_leaf: $share%"
[ "$total" -ge 20 ] || fail "only $total samples for 1.5 s of w-spin"
# Early in a long run w-spin's two threads both spin: about half each.
[ "$share" -gt 30 ] || fail "cp_w_hot_leaf has $share% of the samples"
left=$(ls -A "$T" | grep '^\.term\.prof' || true)
[ -z "$left" ] || fail "temporary files left after SIGTERM: $left"

# 2. kill -INT to cprof alone: forwarded; the command's handler exits 130.
p=$T/int.prof
rm -f "$T/ready"
start_cprof record -o "$p" -- "$w" sleep 10 "$T/ready"
wait_file "$T/ready" 5 || fail "w-exit sleep did not start"
t0=$(now_ms)
kill -INT "$pid"
finish_cprof 5 "SIGINT to cprof"
grep -qx "got SIGINT" "$T/out" || fail "SIGINT sent to cprof did not reach the command"
expect_rc 130 "SIGINT forwarded, the command exited 130"
load_profile "$p"
grep -q cp_w_exit_burn "$p.folded" || fail "cp_w_exit_burn is missing after SIGINT"

# 3. kill -INT twice while the command ignores SIGINT: the first is passed
# on and cprof keeps collecting; the second makes it write the profile now.
p=$T/twice.prof
rm -f "$T/ready"
start_cprof record -o "$p" -- "$w" ignint 10 "$T/ready"
wait_file "$T/ready" 5 || fail "w-exit ignint did not start"
cpid=$(cat "$T/ready")
forget_later "$cpid"
kill -INT "$pid"
sleep 1
alive "$pid" || fail "cprof stopped at the first SIGINT although the command still runs"
[ -e "$p" ] && fail "cprof wrote the profile before the command exited"
t0=$(now_ms)
kill -INT "$pid"
finish_cprof 5 "second SIGINT"
note "after a second SIGINT cprof exits with status $rc"
end_command
load_profile "$p"
grep -q cp_w_exit_burn "$p.folded" || fail "cp_w_exit_burn is missing after a second SIGINT"

# Ctrl-C typed at a real terminal: run cprof on a pseudo-terminal with
# script(1) and type ^C into it, so that the kernel's tty driver sends SIGINT
# to the foreground process group (si_code SI_KERNEL, not SI_USER as from
# kill).  $1: the w-exit mode; $2: what to type once the command is ready,
# "c" for a ^C and "p" for a pause of a second.  Sets $rc from cprof.
# script(1) runs the command with $SHELL, which the ^C reaches too: the shell
# is set, and it traps SIGINT (which, unlike ignoring it, leaves cprof's
# SIGINT at its default) so that it lives on to print cprof's exit status.
on_tty() {
	mode=$1
	keys=$2
	rm -f "$T/ready" "$T/early"
	echo "+ (on a terminal) cprof record -o $p -- w-exit $mode 10, typing '$keys'"
	{
		wait_file "$T/ready" 5 || exit
		k=$keys
		while [ -n "$k" ]; do
			case $k in
			c*) printf '\003' ;;
			p*)
				sleep 1
				# Typed a ^C before, and the command still runs: no profile yet.
				[ -e "$p" ] && : >"$T/early"
				;;
			esac
			k=${k#?}
		done
	} | SHELL=/bin/sh timeout 20 script -qfec \
		"trap : INT; '$CPROF' record -o '$p' -- '$w' $mode 10 '$T/ready'; echo cprof-exit=\$?" \
		/dev/null >"$T/out" 2>&1
	tr -d '\r' <"$T/out" | sed 's/^/  tty: /'
	rc=$(tr -d '\r' <"$T/out" | sed -n 's/^cprof-exit=//p')
	[ -n "$rc" ] || fail "on a terminal: cprof did not finish (or script(1) failed)"
	check_sanitizers "$T/out"
	if [ -s "$T/ready" ]; then
		cpid=$(cat "$T/ready")
		forget_later "$cpid"
	fi
}

if command -v script >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
	# 4. ^C at the terminal reaches the command, whose handler exits 130;
	# cprof writes the profile after the command has exited.
	p=$T/ctrlc.prof
	on_tty sleep c
	grep -q "got SIGINT" "$T/out" || fail "^C at the terminal did not reach the command"
	expect_rc 130 "^C at the terminal, the command exited 130"
	load_profile "$p"
	grep -q cp_w_exit_burn "$p.folded" || fail "cp_w_exit_burn is missing after ^C"

	# 5. The command ignores SIGINT: cprof goes on after the first ^C, and
	# writes the profile at the second.
	p=$T/ctrlc2.prof
	on_tty ignint cpc
	note "after a second ^C cprof exits with status $rc"
	[ -e "$T/early" ] && fail "cprof stopped at the first ^C although the command still runs"
	load_profile "$p"
	grep -q cp_w_exit_burn "$p.folded" || fail "cp_w_exit_burn is missing after a second ^C"
	end_command
else
	note "script(1) or timeout(1) not found: Ctrl-C at a terminal not tested"
fi

echo "PASS: $me"
