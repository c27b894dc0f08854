/* SPDX-License-Identifier: MIT */
/*
 * w-exit: ways for a profiled command to end, for the end-to-end tests.
 *
 *   w-exit code N            burn ~0.2 s of CPU, then exit with status N
 *   w-exit signal N          burn ~0.1 s of CPU, then die of signal N (no core dump)
 *   w-exit orphan [MARKER]   fork a child that burns ~0.5 s of CPU in
 *                            cp_w_orphan_work and then creates MARKER;
 *                            the parent exits 0 at once
 *   w-exit sleep S [READY]   catch SIGINT, burn ~0.1 s of CPU, write its pid
 *                            to READY, sleep S seconds and exit 0; on SIGINT
 *                            print "got SIGINT" and exit 130
 *   w-exit ignint S [READY]  the same, but ignore SIGINT
 *
 * Usage errors exit 2.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cpwork.h"

volatile unsigned long cp_w_sink;

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The spinning body of both burners: a leaf with a frame, see cpwork.h. */
#define SPIN(rounds)                                                                               \
	do {                                                                                       \
		volatile unsigned long acc_ = 0;                                                   \
		for (unsigned long i_ = 0; i_ < (rounds); i_++)                                    \
			acc_ = acc_ * 31 + i_;                                                     \
		cp_w_sink += acc_;                                                                 \
	} while (0)

CP_W_NOINLINE void cp_w_exit_burn(double seconds)
{
	double end = thread_cpu_seconds() + seconds;

	while (thread_cpu_seconds() < end)
		SPIN(100000);
}

CP_W_NOINLINE void cp_w_orphan_work(double seconds)
{
	double end = thread_cpu_seconds() + seconds;

	while (thread_cpu_seconds() < end)
		SPIN(100000);
}

/* Create @path (if not NULL), holding this process's pid. */
static void touch(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	/* Write and rename, so that a reader never sees an empty file. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		perror(path);
		_exit(1);
	}
}

static void on_sigint(int sig)
{
	static const char msg[] = "got SIGINT\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0)
		_exit(1);
	_exit(130);
}

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	/* Restart after a signal that was ignored or handled without exiting. */
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void usage(void)
{
	fputs("usage: w-exit code N | signal N | orphan [MARKER] | sleep S [READY] | ignint S "
	      "[READY]\n",
	      stderr);
	exit(2);
}

static long number(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (!*s || *end)
		usage();
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *extra = argc > 3 ? argv[3] : NULL;

	if (argc < 2 || argc > 4)
		usage();

	if (strcmp(mode, "code") == 0 && argc == 3) {
		cp_w_exit_burn(0.2);
		return (int)number(argv[2]);
	}
	if (strcmp(mode, "signal") == 0 && argc == 3) {
		struct rlimit no_core = { 0, 0 };
		int sig = (int)number(argv[2]);

		cp_w_exit_burn(0.1);
		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		raise(sig);
		fprintf(stderr, "w-exit: signal %d did not kill me\n", sig);
		return 1;
	}
	if (strcmp(mode, "orphan") == 0 && argc <= 3) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			cp_w_orphan_work(0.5);
			touch(argc == 3 ? argv[2] : NULL);
			_exit(0);
		}
		return 0;
	}
	if ((strcmp(mode, "sleep") == 0 || strcmp(mode, "ignint") == 0) && argc >= 3) {
		struct sigaction sa = { .sa_handler = SIG_IGN };
		double s = strtod(argv[2], NULL);

		if (mode[0] == 's')
			sa.sa_handler = on_sigint;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		cp_w_exit_burn(0.1);
		touch(extra);
		sleep_seconds(s);
		return 0;
	}
	usage();
}
