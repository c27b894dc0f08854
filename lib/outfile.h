/* SPDX-License-Identifier: MIT */
/*
 * Whole-or-nothing output files.  The data goes to a temporary file in the
 * target's directory and is renamed over the target only when complete, so a
 * reader never sees half a profile and a failed run never clobbers the last
 * good one.  Opening early doubles as the "is the output writable?" check made
 * before the workload starts.
 *
 * A symlink is followed: its target is replaced and the link kept.  A path
 * that is not a regular file (a FIFO, a device such as /dev/stdout) is
 * written in place, never replaced.
 */
#ifndef CP_LIB_OUTFILE_H
#define CP_LIB_OUTFILE_H

#include <stdio.h>

struct cp_outfile {
	char *path;	/* the target, symlinks resolved */
	char *tmp_path; /* "<dir>/.<name>.XXXXXX" beside it; NULL: writing in place */
	FILE *stream;	/* open for writing */
};

/*
 * cp_outfile_open() - create the temporary file beside @path (or open a
 * non-regular @path itself).  Fails early if @path is a directory or its
 * directory is not writable.
 * Return: 0, -EISDIR, -ENOMEM, or the -errno of resolving or creating.
 */
int cp_outfile_open(struct cp_outfile *out, const char *path);

/*
 * cp_outfile_commit() - flush, fsync and rename the temporary file to the
 * target.  On failure the temporary file is removed.  Either way @out is
 * released.  Return: 0 or -errno.
 */
int cp_outfile_commit(struct cp_outfile *out);

/* Remove the temporary file and release @out; safe on a zeroed or released @out. */
void cp_outfile_abort(struct cp_outfile *out);

#endif
