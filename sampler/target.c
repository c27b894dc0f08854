/* SPDX-License-Identifier: MIT */
/*
 * Launching the command with a cork.  The child blocks reading the "go"
 * pipe while the parent opens perf events on it; closing that pipe lets it
 * exec.  A second, close-on-exec pipe reports a failed exec: EOF means the
 * exec succeeded, four bytes carry the errno it failed with.  Between fork
 * and exec the child makes only async-signal-safe calls.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sampler/sampler.h"

struct cp_target {
	pid_t pid;
	int go_fd;    /* write end of the cork; closed to uncork */
	int error_fd; /* read end of the exec-error pipe */
	bool uncorked;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : (ssize_t)done;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void __attribute__((noreturn))
run_child(char *const argv[], const sigset_t *sigmask, int go_fd, int error_fd)
{
	char byte;
	int err;

	/* Signals cprof handles itself must reach the command as usual. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, sigmask, NULL);

	/* EOF instead of the go byte: the parent gave up (or died). */
	if (read(go_fd, &byte, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	err = errno;
	(void)!write(error_fd, &err, sizeof(err));
	_exit(127);
}

int cp_target_spawn(char *const argv[], const void *child_sigmask, struct cp_target **ret)
{
	int go_pipe[2], error_pipe[2];
	struct cp_target *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	if (pipe2(go_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		free(t);
		return r;
	}
	if (pipe2(error_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		close(go_pipe[0]);
		close(go_pipe[1]);
		free(t);
		return r;
	}

	t->pid = fork();
	if (t->pid == 0) {
		close(go_pipe[1]);
		close(error_pipe[0]);
		run_child(argv, child_sigmask, go_pipe[0], error_pipe[1]);
	}
	r = t->pid < 0 ? -errno : 0;
	close(go_pipe[0]);
	close(error_pipe[1]);
	t->go_fd = go_pipe[1];
	t->error_fd = error_pipe[0];
	if (r < 0) {
		cp_target_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

pid_t cp_target_pid(const struct cp_target *t)
{
	return t->pid;
}

int cp_target_exec(struct cp_target *t)
{
	char go = 0;
	int err;

	t->uncorked = true;
	/* One byte, not EOF: EOF tells the child to give up. */
	if (write(t->go_fd, &go, 1) != 1)
		return -errno;
	close_fd(&t->go_fd);

	ssize_t n = read_full(t->error_fd, &err, sizeof(err));

	close_fd(&t->error_fd);
	if (n == (ssize_t)sizeof(err))
		return -err;
	return 0;
}

void cp_target_free(struct cp_target *t)
{
	if (!t)
		return;
	if (t->pid > 0 && !t->uncorked) {
		/* Closing the cork makes the child exit; reap it. */
		close_fd(&t->go_fd);
		while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&t->go_fd);
	close_fd(&t->error_fd);
	free(t);
}
