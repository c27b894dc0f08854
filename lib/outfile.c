/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
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

int cp_outfile_open(struct cp_outfile *out, const char *path)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!*path)
		return -ENOENT;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;

	out->path = strdup(path);
	if (!out->path || asprintf(&out->tmp_path, "%.*s.%s.XXXXXX", dir_len, path,
				   slash ? slash + 1 : path) < 0) {
		out->tmp_path = NULL;
		release(out);
		return -ENOMEM;
	}

	fd = mkstemp(out->tmp_path);
	if (fd < 0) {
		int r = -errno;

		release(out);
		return r;
	}
	/* mkstemp creates 0600; a profile should get the usual 0666 & ~umask. */
	mode_t mask = umask(0);

	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);

	out->stream = fdopen(fd, "w");
	if (!out->stream) {
		int r = -errno;

		close(fd);
		unlink(out->tmp_path);
		release(out);
		return r;
	}
	return 0;
}

int cp_outfile_commit(struct cp_outfile *out)
{
	int r = 0;

	if (fflush(out->stream) != 0 || fsync(fileno(out->stream)) != 0)
		r = -errno;
	if (fclose(out->stream) != 0 && r == 0)
		r = -errno;
	out->stream = NULL;
	if (r == 0 && rename(out->tmp_path, out->path) != 0)
		r = -errno;
	if (r < 0)
		unlink(out->tmp_path);
	release(out);
	return r;
}

void cp_outfile_abort(struct cp_outfile *out)
{
	if (out->stream) {
		fclose(out->stream);
		unlink(out->tmp_path);
	}
	release(out);
}
