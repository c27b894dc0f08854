/* SPDX-License-Identifier: MIT */
/*
 * Attaching to running processes: one inherited cpu-clock event per thread
 * and CPU, enabled at once, the process model seeded from /proc.
 *
 * A thread created while the events are being opened either inherits its
 * creator's event (its creator already had one: the kernel then writes a
 * FORK record for it) or does not (its creator had none yet).  So
 * /proc/PID/task is listed again after each round of opening, and a new
 * thread gets events of its own only if no FORK record announced it, until
 * a listing finds nothing new.  A thread is visible in /proc a few
 * microseconds before its FORK record is written; one listed in that window
 * got events of its own although it inherited some, so once the listing is
 * done, the records still in flight are read and such threads lose their
 * own events again: no thread is sampled twice.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sampler/sampler-internal.h"

/* Give up on a process that creates threads faster than they can be listed. */
#define MAX_ROUNDS 64

bool cp_tidset_has(const struct cp_tidset *set, pid_t tid)
{
	for (size_t i = 0; i < set->len; i++)
		if (set->tids[i] == tid)
			return true;
	return false;
}

int cp_tidset_add(struct cp_tidset *set, pid_t tid)
{
	if (cp_tidset_has(set, tid))
		return 0;
	if (cp_grow((void **)&set->tids, &set->cap, set->len + 1, sizeof(*set->tids)) < 0)
		return -ENOMEM;
	set->tids[set->len++] = tid;
	return 0;
}

void cp_tidset_fini(struct cp_tidset *set)
{
	free(set->tids);
	memset(set, 0, sizeof(*set));
}

int cp_list_tasks(pid_t pid, struct cp_tidset *set)
{
	char path[64];
	DIR *dir;
	struct dirent *de;
	int added = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || tid > INT_MAX || cp_tidset_has(set, (pid_t)tid))
			continue;
		if (cp_tidset_add(set, (pid_t)tid) < 0) {
			closedir(dir);
			return -ENOMEM;
		}
		added++;
	}
	closedir(dir);
	return added;
}

/* The events cp_events_add_task() opened for one thread: task_fds[first, end). */
struct own_events {
	pid_t tid;
	size_t first, end;
};

struct opened {
	struct own_events *v;
	size_t len, cap;
};

/* Open events for every thread of @pid not covered yet.  Return: 0 or -errno. */
static int open_process(struct cp_sampler *s, pid_t pid, struct cp_tidset *covered,
			struct opened *opened_tasks)
{
	/* The rings come with the first process's main thread. */
	if (!s->nevents) {
		int r = cp_events_open(s, pid);

		if (r < 0)
			return r;
		r = cp_tidset_add(covered, pid);
		if (r < 0)
			return r;
	}
	for (int round = 0; round < MAX_ROUNDS; round++) {
		struct cp_tidset now = { 0 };
		int r = cp_list_tasks(pid, &now), opened = 0;

		if (r < 0) {
			snprintf(s->error, sizeof(s->error), "reading /proc/%d/task", (int)pid);
			cp_tidset_fini(&now);
			return r;
		}
		/* Threads that inherited an event since the last listing. */
		r = cp_sampler_drain(s);
		for (size_t i = 0; r >= 0 && i < now.len; i++) {
			pid_t tid = now.tids[i];

			if (cp_tidset_has(covered, tid) || cp_tidset_has(&s->inherited, tid))
				continue;

			size_t first = s->ntask_fds;

			r = cp_events_add_task(s, tid);
			if (r == -ESRCH && tid != pid) {
				r = 0; /* it exited meanwhile */
				continue;
			}
			if (r >= 0)
				r = cp_tidset_add(covered, tid);
			if (r >= 0 && cp_grow((void **)&opened_tasks->v, &opened_tasks->cap,
					      opened_tasks->len + 1, sizeof(*opened_tasks->v)) < 0)
				r = -ENOMEM;
			if (r >= 0)
				opened_tasks->v[opened_tasks->len++] =
					(struct own_events){ tid, first, s->ntask_fds };
			opened++;
		}
		cp_tidset_fini(&now);
		if (r < 0)
			return r;
		if (!opened)
			return 0;
	}
	cp_debug("pid %d: still creating threads after %d listings", (int)pid, MAX_ROUNDS);
	return 0;
}

/* The main program's mapping: the one of /proc/PID/exe. */
const struct cp_map *cp_sampler_exe_map(struct cp_sampler *s, pid_t pid)
{
	struct cp_proc *proc = cp_procs_find(&s->procs, pid);
	char link[64], exe[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (!proc || len <= 0)
		return NULL;
	exe[len] = '\0';
	for (size_t i = 0; i < proc->nmaps; i++)
		if (proc->maps[i]->module && strcmp(proc->maps[i]->path, exe) == 0)
			return proc->maps[i];
	return NULL;
}

/* How long a FORK record may still be on its way once a listing is done. */
#define FORK_RECORD_DELAY_US 2000

/* Close the events of threads a FORK record shows to have inherited one. */
static int drop_duplicates(struct cp_sampler *s, const struct opened *opened_tasks)
{
	int r;

	usleep(FORK_RECORD_DELAY_US);
	r = cp_sampler_drain(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < opened_tasks->len; i++) {
		const struct own_events *own = &opened_tasks->v[i];

		if (!cp_tidset_has(&s->inherited, own->tid))
			continue;
		cp_debug("thread %d inherited its events: closing its own", (int)own->tid);
		for (size_t k = own->first; k < own->end; k++) {
			close(s->task_fds[k]);
			s->task_fds[k] = -1;
		}
	}
	return 0;
}

int cp_sampler_open_pids(struct cp_sampler *s, const pid_t *pids, size_t npids)
{
	struct cp_tidset covered = { 0 };
	struct opened opened_tasks = { 0 };
	int r = 0;

	if (!npids)
		return -EINVAL;
	s->root_pid = pids[0];
	s->attaching = true;
	s->listing_tasks = true;
	for (size_t i = 0; i < npids && r >= 0; i++)
		r = open_process(s, pids[i], &covered, &opened_tasks);
	if (r >= 0)
		r = drop_duplicates(s, &opened_tasks);
	s->listing_tasks = false;
	free(opened_tasks.v);
	cp_tidset_fini(&covered);
	cp_tidset_fini(&s->inherited);
	if (r < 0) {
		cp_events_close(s);
		return r;
	}
	/* After the events: whatever is mapped from now on is in the stream. */
	for (size_t i = 0; i < npids; i++) {
		r = cp_procs_seed(&s->procs, pids[i]);
		if (r < 0) {
			cp_events_close(s);
			return r;
		}
	}
	s->stats.processes = npids;
	s->main_map = cp_sampler_exe_map(s, pids[0]);
	return 0;
}
