/* SPDX-License-Identifier: MIT */
/*
 * w-sigs: signals, job control, children and exec, with output that does
 * not depend on timing, so that it can be compared with and without a
 * tracer.  Exits 7.
 *
 *  - SIGUSR1 three times from a child process, each acknowledged;
 *  - SIGALRM from a timer;
 *  - SIGTSTP with a handler, raised;
 *  - SIGSTOP raised, and a child that sees the process stopped sends SIGCONT;
 *  - three forked children exiting 5, 6 and 7 (SIGCHLD handled), one vfork
 *    child exiting 9, a child that execs this program, which prints and
 *    exits 4, and two threads.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, alrm, tstp, cont, chld;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		usr1++;
		break;
	case SIGALRM:
		alrm++;
		break;
	case SIGTSTP:
		tstp++;
		break;
	case SIGCONT:
		cont++;
		break;
	case SIGCHLD:
		chld++;
		break;
	}
}

static void *thread(void *arg)
{
	return arg;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char state = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');

		if (p)
			state = p[2];
	}
	if (f)
		fclose(f);
	return state;
}

static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int ack[2];
	sigset_t block, none;

	if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
		printf("exec child ran\n");
		return 4;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int sig = SIGUSR1; sig; sig = sig == SIGUSR1   ? SIGALRM
					   : sig == SIGALRM ? SIGTSTP
					   : sig == SIGTSTP ? SIGCONT
					   : sig == SIGCONT ? SIGCHLD
							    : 0)
		sigaction(sig, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigdelset(&none, SIGUSR1);
	sigdelset(&none, SIGALRM);

	/* SIGUSR1 from another process, three times, each acknowledged. */
	if (pipe(ack) < 0)
		return 1;
	pid_t sender = fork();

	if (sender == 0) {
		char byte;

		for (int i = 0; i < 3; i++) {
			kill(getppid(), SIGUSR1);
			if (read(ack[0], &byte, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	for (int i = 0; i < 3; i++) {
		while (usr1 <= i)
			sigsuspend(&none);
		(void)!write(ack[1], "x", 1);
	}
	printf("SIGUSR1 received %d times, sender exited %d\n", (int)usr1, wait_status(sender));

	/* SIGALRM from a timer. */
	struct itimerval once = { { 0, 0 }, { 0, 50000 } };

	setitimer(ITIMER_REAL, &once, NULL);
	while (!alrm)
		sigsuspend(&none);
	printf("SIGALRM received %d times\n", (int)alrm);

	/* SIGTSTP with a handler. */
	raise(SIGTSTP);
	printf("SIGTSTP handled %d times\n", (int)tstp);

	/* SIGSTOP, continued by a child that saw it stopped. */
	pid_t waker = fork();

	if (waker == 0) {
		pid_t parent = getppid();

		for (int i = 0; i < 500; i++) {
			char st = proc_state(parent);

			if (st == 'T' || st == 't') {
				usleep(50000);
				kill(parent, SIGCONT);
				_exit(0);
			}
			usleep(10000);
		}
		kill(parent, SIGCONT);
		_exit(1);
	}
	raise(SIGSTOP);
	printf("continued after SIGSTOP: SIGCONT handled %d times, waker exited %d\n", (int)cont,
	       wait_status(waker));

	/* Children. */
	for (int code = 5; code <= 7; code++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(code);
		printf("child exited %d\n", wait_status(pid));
	}
	pid_t vpid = vfork();

	if (vpid == 0)
		_exit(9);
	printf("vfork child exited %d\n", wait_status(vpid));
	pid_t epid = fork();

	if (epid == 0) {
		execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
		_exit(127);
	}
	printf("exec child exited %d\n", wait_status(epid));
	printf("SIGCHLD handled: %s\n", chld ? "yes" : "no");

	pthread_t t1, t2;

	pthread_create(&t1, NULL, thread, NULL);
	pthread_create(&t2, NULL, thread, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	printf("threads joined\n");
	return 7;
}
