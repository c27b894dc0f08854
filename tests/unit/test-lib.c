/* SPDX-License-Identifier: MIT */
/* lib/: the hash set, string interning and whole-or-nothing output files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/htab.h"
#include "lib/outfile.h"
#include "lib/strpool.h"
#include "tests/unit/harness.h"

static bool int_eq(const void *item, const void *key)
{
	return *(const int *)item == *(const int *)key;
}

TEST(htab_finds_what_was_inserted_across_growth)
{
	struct cp_htab tab = CP_HTAB_INIT;
	static int values[5000];

	for (int i = 0; i < 5000; i++) {
		values[i] = i * 7;
		CHECK_OK(cp_htab_insert(&tab, cp_hash_mix((uint64_t)values[i]), &values[i]));
	}
	CHECK_EQ(tab.len, 5000);
	for (int i = 0; i < 5000; i++) {
		int key = i * 7;

		CHECK(cp_htab_find(&tab, cp_hash_mix((uint64_t)key), &key, int_eq) == &values[i]);
	}
	int missing = 3;

	CHECK(cp_htab_find(&tab, cp_hash_mix(3), &missing, int_eq) == NULL);
	cp_htab_fini(&tab);
	CHECK(cp_htab_find(&tab, 0, &missing, int_eq) == NULL);
	return 0;
}

TEST(htab_equal_hashes_are_told_apart_by_eq)
{
	struct cp_htab tab = CP_HTAB_INIT;
	int a = 1, b = 2;

	CHECK_OK(cp_htab_insert(&tab, 42, &a));
	CHECK_OK(cp_htab_insert(&tab, 42, &b));
	CHECK(cp_htab_find(&tab, 42, &b, int_eq) == &b);
	CHECK(cp_htab_find(&tab, 42, &a, int_eq) == &a);
	cp_htab_fini(&tab);
	return 0;
}

TEST(htab_remove_keeps_every_other_item_findable)
{
	struct cp_htab tab = CP_HTAB_INIT;
	static int values[3000];

	/* Few distinct hashes: long probe runs that wrap around the table. */
	for (int i = 0; i < 3000; i++) {
		values[i] = i;
		CHECK_OK(cp_htab_insert(&tab, (uint64_t)(i % 7) * 0x9e3779b97f4a7c15ULL,
					&values[i]));
	}
	for (int i = 0; i < 3000; i += 3) {
		int key = i;

		CHECK(cp_htab_remove(&tab, (uint64_t)(i % 7) * 0x9e3779b97f4a7c15ULL, &key,
				     int_eq) == &values[i]);
		CHECK(cp_htab_remove(&tab, (uint64_t)(i % 7) * 0x9e3779b97f4a7c15ULL, &key,
				     int_eq) == NULL);
	}
	CHECK_EQ(tab.len, 2000);
	for (int i = 0; i < 3000; i++) {
		int key = i;
		void *found =
			cp_htab_find(&tab, (uint64_t)(i % 7) * 0x9e3779b97f4a7c15ULL, &key, int_eq);

		CHECK(found == (i % 3 ? &values[i] : NULL));
	}
	cp_htab_fini(&tab);
	return 0;
}

TEST(strpool_numbers_strings_in_first_use_order)
{
	struct cp_strpool pool;
	const char *first, *again;
	char big[100000];

	cp_strpool_init(&pool);
	CHECK_EQ(cp_strpool_intern(&pool, "", NULL), 0);
	CHECK_EQ(cp_strpool_intern(&pool, "main", &first), 1);
	CHECK_EQ(cp_strpool_intern(&pool, "leaf", NULL), 2);
	CHECK_EQ(cp_strpool_intern(&pool, "main", &again), 1);
	CHECK(first == again);
	/* A string larger than a storage chunk. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(cp_strpool_intern(&pool, big, NULL), 3);
	for (int i = 0; i < 20000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fn%d", i);
		CHECK_EQ(cp_strpool_intern(&pool, name, NULL), 4 + i);
	}
	CHECK_STREQ(cp_strpool_get(&pool, 2), "leaf");
	CHECK_STREQ(cp_strpool_get(&pool, 4 + 19999), "fn19999");
	CHECK(first == cp_strpool_get(&pool, 1)); /* never moved */
	CHECK(cp_strpool_get(&pool, 1000000) == NULL);
	cp_strpool_fini(&pool);
	return 0;
}

static char *read_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

TEST(outfile_appears_only_when_committed)
{
	char dir[] = "/tmp/cp-test-outfile-XXXXXX";
	char path[128];
	struct cp_outfile out;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.prof", dir);
	CHECK_OK(cp_outfile_open(&out, path));
	fputs("whole", out.stream);
	CHECK(access(path, F_OK) != 0);
	CHECK_OK(cp_outfile_commit(&out));
	CHECK_STREQ(read_file(path), "whole");

	/* An aborted second write leaves the first file as it was, and no litter. */
	CHECK_OK(cp_outfile_open(&out, path));
	fputs("half", out.stream);
	cp_outfile_abort(&out);
	CHECK_STREQ(read_file(path), "whole");
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(rmdir(dir), 0); /* fails if a temporary file was left */
	return 0;
}

TEST(outfile_follows_links_and_writes_fifos_in_place)
{
	char dir[] = "/tmp/cp-test-outfile-XXXXXX";
	char target[128], link[128], fifo[128];
	struct cp_outfile out;
	struct stat st;

	CHECK(mkdtemp(dir));
	snprintf(target, sizeof(target), "%s/real.prof", dir);
	snprintf(link, sizeof(link), "%s/link.prof", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_EQ(symlink("real.prof", link), 0);
	CHECK_OK(cp_outfile_open(&out, link));
	fputs("via link", out.stream);
	CHECK_OK(cp_outfile_commit(&out));
	CHECK_EQ(lstat(link, &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_STREQ(read_file(target), "via link");

	/* A FIFO is written, not replaced: a reader on it gets the data. */
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	FILE *reader = NULL;
	pid_t pid = fork();

	if (pid == 0) {
		struct cp_outfile child;

		if (cp_outfile_open(&child, fifo) < 0)
			_exit(1);
		fputs("through fifo", child.stream);
		_exit(cp_outfile_commit(&child) < 0);
	}
	reader = fopen(fifo, "r");
	CHECK(reader);
	char buf[64] = "";

	CHECK(fgets(buf, sizeof(buf), reader));
	fclose(reader);
	CHECK_STREQ(buf, "through fifo");
	int status;

	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(lstat(fifo, &st), 0);
	CHECK(S_ISFIFO(st.st_mode));

	unlink(fifo);
	unlink(link);
	unlink(target);
	CHECK_EQ(rmdir(dir), 0);
	return 0;
}

TEST(outfile_refuses_unwritable_places_early)
{
	struct cp_outfile out;

	CHECK_EQ(cp_outfile_open(&out, "/nonexistent-dir/p.prof"), -ENOENT);
	CHECK_EQ(cp_outfile_open(&out, "/tmp"), -EISDIR);
	CHECK_EQ(cp_outfile_open(&out, ""), -ENOENT);
	cp_outfile_abort(&out); /* safe on a released outfile */
	return 0;
}
