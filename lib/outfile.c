/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/outfile.h"

static void release(struct cp_outfile *out)
{
	free(out->path);
	free(out->tmp_path);
	memset(out, 0, sizeof(*out));
}

/* Write a FIFO or device as it is: it cannot be replaced, and must not be. */
static int open_in_place(struct cp_outfile *out)
{
	int fd = open(out->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	out->stream = fdopen(fd, "w");
	if (!out->stream) {
		int r = -errno;

		close(fd);
		return r;
	}
	return 0;
}

static int open_beside(struct cp_outfile *out)
{
	const char *slash = strrchr(out->path, '/');
	int dir_len = slash ? (int)(slash - out->path + 1) : 0;
	int fd;

	if (asprintf(&out->tmp_path, "%.*s.%s.XXXXXX", dir_len, out->path,
		     slash ? slash + 1 : out->path) < 0) {
		out->tmp_path = NULL;
		return -ENOMEM;
	}
	fd = mkstemp(out->tmp_path);
	if (fd < 0)
		return -errno;
	/* mkstemp creates 0600; a profile should get the usual 0666 & ~umask. */
	mode_t mask = umask(0);

	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);

	out->stream = fdopen(fd, "w");
	if (!out->stream) {
		int r = -errno;

		close(fd);
		unlink(out->tmp_path);
		return r;
	}
	return 0;
}

/*
 * Follow symlinks from @path to the file they name, which need not exist
 * yet (realpath() refuses a dangling link).  Return: 0 or -errno (-ELOOP).
 */
static int resolve_links(const char *path, char **ret)
{
	char *cur = strdup(path);

	for (int hops = 0; cur && hops < 40; hops++) {
		struct stat st;
		char text[PATH_MAX];
		ssize_t len;

		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
			*ret = cur;
			return 0;
		}
		len = readlink(cur, text, sizeof(text) - 1);
		if (len < 0) {
			int r = -errno;

			free(cur);
			return r;
		}
		text[len] = '\0';

		char *slash = strrchr(cur, '/');
		char *next = NULL;

		/* A relative link is relative to the directory holding it. */
		if (text[0] == '/' || !slash)
			next = strdup(text);
		else if (asprintf(&next, "%.*s/%s", (int)(slash - cur), cur, text) < 0)
			next = NULL;
		free(cur);
		cur = next;
	}
	if (!cur)
		return -ENOMEM;
	free(cur);
	return -ELOOP;
}

int cp_outfile_open(struct cp_outfile *out, const char *path)
{
	struct stat st;
	bool exists;
	int r;

	memset(out, 0, sizeof(*out));
	if (!*path)
		return -ENOENT;
	r = resolve_links(path, &out->path);
	if (r < 0)
		return r;
	exists = stat(out->path, &st) == 0;

	if (exists && S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (exists && !S_ISREG(st.st_mode))
		r = open_in_place(out);
	else
		r = open_beside(out);
	if (r < 0)
		release(out);
	return r;
}

int cp_outfile_commit(struct cp_outfile *out)
{
	int r = 0;

	/* fsync is for the rename's sake; a pipe or device cannot take it. */
	if (fflush(out->stream) != 0 || (out->tmp_path && fsync(fileno(out->stream)) != 0))
		r = -errno;
	if (fclose(out->stream) != 0 && r == 0)
		r = -errno;
	out->stream = NULL;
	if (out->tmp_path) {
		if (r == 0 && rename(out->tmp_path, out->path) != 0)
			r = -errno;
		if (r < 0)
			unlink(out->tmp_path);
	}
	release(out);
	return r;
}

void cp_outfile_abort(struct cp_outfile *out)
{
	if (out->stream) {
		fclose(out->stream);
		if (out->tmp_path)
			unlink(out->tmp_path);
	}
	release(out);
}
