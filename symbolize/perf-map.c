/* SPDX-License-Identifier: MIT */
/*
 * JIT code: a JIT that wants its code named lists it in /tmp/perf-PID.map,
 * one "START SIZE name" line per function (hex, with or without 0x; the
 * name is the rest of the line), the convention perf set.  Addresses are
 * absolute.  The file is opened as soon as the process maps anonymous code,
 * because a JIT may delete it when it exits, before the profile is built;
 * it is read on the first lookup, and its new lines again whenever a lookup
 * misses after it grew, since a JIT appends as it compiles.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "symbolize/symbolize-internal.h"

/*
 * Whether a file is a map this process may have written: /tmp is anyone's,
 * so only files of root, of cprof's user or of the process's own user are
 * believed, and only regular files (a FIFO would block the read).
 */
static bool owner_ok(const struct stat *st, pid_t pid)
{
	char proc[32];
	struct stat pst;

	if (!S_ISREG(st->st_mode))
		return false;
	if (st->st_uid == 0 || st->st_uid == geteuid())
		return true;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	return stat(proc, &pst) == 0 && pst.st_uid == st->st_uid;
}

void cp_perf_map_open(struct cp_module *mod)
{
	struct perf_map *pm = mod->perf_map;
	struct stat st;
	int fd;

	if (pm->fd >= 0)
		return;
	fd = open(mod->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !owner_ok(&st, pm->pid)) {
		cp_debug("'%s' is not the process's own map, ignoring", mod->path);
		close(fd);
		return;
	}
	pm->fd = fd;
}

int cp_perf_map_new(struct cp_symbolizer *symz, pid_t pid, struct cp_module **ret)
{
	struct cp_module *mod;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	r = cp_module_new(symz, MODULE_PERF_MAP, path, &mod);
	if (r < 0)
		return r;
	mod->perf_map = calloc(1, sizeof(*mod->perf_map));
	if (!mod->perf_map) {
		cp_module_free(mod);
		return -ENOMEM;
	}
	mod->perf_map->pid = pid;
	mod->perf_map->fd = -1;
	cp_perf_map_open(mod);
	*ret = mod;
	return 0;
}

void cp_perf_map_free(struct perf_map *pm)
{
	if (!pm)
		return;
	if (pm->fd >= 0)
		close(pm->fd);
	free(pm->syms);
	free(pm->names);
	free(pm);
}

/* "START SIZE name": the name is the rest of the line, spaces included.
 * Return: false for lines to skip. */
static bool parse_line(char *line, uint64_t *ret_start, uint64_t *ret_size, char **ret_name)
{
	char *end;

	*ret_start = strtoull(line, &end, 16);
	if (end == line || (*end != ' ' && *end != '\t'))
		return false;
	line = end;
	*ret_size = strtoull(line, &end, 16);
	if (end == line || (*end != ' ' && *end != '\t') || !*ret_size)
		return false;
	end += strspn(end, " \t");
	end[strcspn(end, "\r\n")] = '\0';
	*ret_name = end;
	return *end != '\0';
}

static int jit_sym_cmp(const void *pa, const void *pb)
{
	const struct jit_sym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Add one line's symbol.  Return: 0 or -ENOMEM. */
static int add_sym(struct perf_map *pm, uint64_t start, uint64_t size, const char *name)
{
	size_t len = strlen(name) + 1;

	if (cp_grow((void **)&pm->syms, &pm->cap, pm->len + 1, sizeof(*pm->syms)) < 0 ||
	    cp_grow((void **)&pm->names, &pm->names_cap, pm->names_len + len, 1) < 0)
		return -ENOMEM;
	memcpy(pm->names + pm->names_len, name, len);
	pm->syms[pm->len++] = (struct jit_sym){
		.addr = start,
		.size = size,
		.name = pm->names_len,
		.seq = pm->nlines,
	};
	pm->names_len += len;
	return 0;
}

/*
 * Parse the lines added since the last read, up to the last complete one
 * (the JIT may be writing the next), and sort the symbols again.  JITs
 * reuse memory, so of two symbols at one address the later line wins.
 * Return: 0 or -ENOMEM.
 */
static int read_new_lines(struct perf_map *pm)
{
	size_t linecap = 0, len = 0;
	char *line = NULL;
	struct stat st;
	ssize_t n;
	FILE *f;
	int fd, r = 0;

	if (pm->fd < 0 || fstat(pm->fd, &st) < 0 || (uint64_t)st.st_size <= pm->parsed)
		return 0;
	/* A FILE of its own, so that pm->fd stays open after fclose(). */
	fd = fcntl(pm->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOMEM ? -ENOMEM : 0;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (fseeko(f, (off_t)pm->parsed, SEEK_SET) < 0)
		goto out;
	while (r == 0 && (n = getline(&line, &linecap, f)) > 0 && line[n - 1] == '\n') {
		uint64_t start, size;
		char *name;

		if (parse_line(line, &start, &size, &name))
			r = add_sym(pm, start, size, name);
		if (r == 0) {
			pm->parsed += (uint64_t)n;
			pm->nlines++;
		}
	}
	/* Sorted even after a failure: lookups keep working on what was read. */
	qsort(pm->syms, pm->len, sizeof(*pm->syms), jit_sym_cmp);
	for (size_t i = 0; i < pm->len; i++) {
		if (len && pm->syms[len - 1].addr == pm->syms[i].addr)
			len--;
		pm->syms[len++] = pm->syms[i];
	}
	pm->len = len;
out:
	free(line);
	fclose(f);
	return r;
}

/* The symbol covering @addr: the last one starting at or below it. */
static const struct jit_sym *find(const struct perf_map *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr - pm->syms[lo - 1].addr < pm->syms[lo - 1].size)
		return &pm->syms[lo - 1];
	return NULL;
}

int cp_perf_map_resolve(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr)
{
	struct perf_map *pm = mod->perf_map;
	const struct jit_sym *sym;
	int r;

	if (!pm->loaded) {
		/* A process still running may have written its map since it
		 * mapped the code. */
		cp_perf_map_open(mod);
		pm->loaded = true;
		sym = NULL;
	} else {
		sym = find(pm, addr);
	}
	if (!sym) {
		r = read_new_lines(pm);
		if (r < 0)
			return r;
		sym = find(pm, addr);
	}
	if (!sym)
		return 0;
	symz->scratch.function_start = sym->addr;
	return cp_symz_push_frame(symz, pm->names + sym->name, pm->names + sym->name, NULL, 0, 0);
}
