/* SPDX-License-Identifier: MIT */
/*
 * deny-syscall: run a command with one system call failing, so the tests
 * can see how cprof handles a kernel that refuses it.  The kernel itself
 * answers (a seccomp filter), nothing is mocked.
 *
 *   deny-syscall SYSCALL ERRNO COMMAND [ARGS...]
 *
 * SYSCALL is perf_event_open or ptrace, what the tests need; ERRNO is a
 * number (13 for EACCES).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned int nr;

	if (argc >= 4 && strcmp(argv[1], "perf_event_open") == 0) {
		nr = __NR_perf_event_open;
	} else if (argc >= 4 && strcmp(argv[1], "ptrace") == 0) {
		nr = __NR_ptrace;
	} else {
		fputs("usage: deny-syscall perf_event_open|ptrace ERRNO COMMAND [ARGS...]\n",
		      stderr);
		return 2;
	}
	unsigned int err = (unsigned int)atoi(argv[2]);
	struct sock_filter filter[] = {
		/* Another architecture's system call numbers mean other calls. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("deny-syscall: seccomp");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror("deny-syscall: exec");
	return 127;
}
