/* SPDX-License-Identifier: MIT */
/*
 * The sampler's pure parts over synthetic data: the ring reader (wrap-around,
 * LOST records, truncated records), the time-ordering queue and the process
 * model's mapping replacement.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/ring.h"
#include "sampler/sampler-internal.h"
#include "tests/unit/harness.h"

#define RING_SIZE 256

struct fake_ring {
	struct perf_event_mmap_page meta;
	unsigned char data[RING_SIZE];
	uint64_t head; /* where the "kernel" writes next */
};

/* Write a record of @size bytes (header included) the way the kernel does. */
static void put_record(struct fake_ring *f, uint16_t type, uint16_t size, uint8_t fill)
{
	unsigned char rec[512];
	struct perf_event_header hdr = { .type = type, .misc = 0, .size = size };

	memset(rec, fill, size);
	memcpy(rec, &hdr, sizeof(hdr));
	for (uint16_t i = 0; i < size; i++)
		f->data[(f->head + i) % RING_SIZE] = rec[i];
	f->head += size;
	f->meta.data_head = f->head;
}

static int body_is(const struct perf_event_header *hdr, uint8_t fill)
{
	const unsigned char *p = (const unsigned char *)hdr;

	for (size_t i = sizeof(*hdr); i < hdr->size; i++)
		if (p[i] != fill)
			return 0;
	return 1;
}

TEST(ring_reads_records_in_order)
{
	struct fake_ring *f = calloc(1, sizeof(*f));
	struct cp_ring ring;
	const struct perf_event_header *hdr;

	CHECK_OK(cp_ring_init(&ring, &f->meta, f->data, RING_SIZE));
	put_record(f, PERF_RECORD_SAMPLE, 40, 0xaa);
	put_record(f, PERF_RECORD_COMM, 24, 0xbb);
	CHECK_EQ(cp_ring_begin(&ring), 64);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	CHECK_EQ(hdr->type, PERF_RECORD_SAMPLE);
	CHECK(body_is(hdr, 0xaa));
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	CHECK_EQ(hdr->type, PERF_RECORD_COMM);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 0);
	cp_ring_end(&ring);
	CHECK_EQ(f->meta.data_tail, 64);
	cp_ring_fini(&ring);
	free(f);
	return 0;
}

TEST(ring_unwraps_a_record_across_the_end)
{
	struct fake_ring *f = calloc(1, sizeof(*f));
	struct cp_ring ring;
	const struct perf_event_header *hdr;

	CHECK_OK(cp_ring_init(&ring, &f->meta, f->data, RING_SIZE));
	/* Fill to 200 bytes and consume, so the next record straddles 256. */
	put_record(f, PERF_RECORD_SAMPLE, 200, 0x11);
	cp_ring_begin(&ring);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	cp_ring_end(&ring);

	put_record(f, PERF_RECORD_MMAP2, 120, 0x22);
	put_record(f, PERF_RECORD_LOST, 32, 0x33);
	CHECK_EQ(cp_ring_begin(&ring), 152);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	CHECK_EQ(hdr->type, PERF_RECORD_MMAP2);
	CHECK_EQ(hdr->size, 120);
	CHECK(body_is(hdr, 0x22));
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	CHECK_EQ(hdr->type, PERF_RECORD_LOST);
	CHECK(body_is(hdr, 0x33));
	CHECK_EQ(cp_ring_next(&ring, &hdr), 0);
	cp_ring_end(&ring);
	CHECK_EQ(f->meta.data_tail, 352);
	cp_ring_fini(&ring);
	free(f);
	return 0;
}

TEST(ring_header_split_by_the_end)
{
	struct fake_ring *f = calloc(1, sizeof(*f));
	struct cp_ring ring;
	const struct perf_event_header *hdr;

	CHECK_OK(cp_ring_init(&ring, &f->meta, f->data, RING_SIZE));
	put_record(f, PERF_RECORD_SAMPLE, 252, 0x44);
	cp_ring_begin(&ring);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	cp_ring_end(&ring);
	/* The header's 8 bytes start 4 bytes before the end. */
	put_record(f, PERF_RECORD_COMM, 16, 0x55);
	cp_ring_begin(&ring);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 1);
	CHECK_EQ(hdr->type, PERF_RECORD_COMM);
	CHECK_EQ(hdr->size, 16);
	CHECK(body_is(hdr, 0x55));
	cp_ring_fini(&ring);
	free(f);
	return 0;
}

TEST(ring_truncated_record_is_rejected)
{
	struct fake_ring *f = calloc(1, sizeof(*f));
	struct cp_ring ring;
	const struct perf_event_header *hdr;

	CHECK_OK(cp_ring_init(&ring, &f->meta, f->data, RING_SIZE));
	put_record(f, PERF_RECORD_SAMPLE, 48, 0x66);
	/* The kernel's head claims fewer bytes than the header says. */
	f->meta.data_head = 40;
	cp_ring_begin(&ring);
	CHECK_EQ(cp_ring_next(&ring, &hdr), -EBADMSG);
	CHECK_EQ(cp_ring_next(&ring, &hdr), 0);

	/* A header with an impossible size (below the header's own). */
	f->head = 40;
	put_record(f, PERF_RECORD_SAMPLE, 16, 0);
	((struct perf_event_header *)(f->data + 40))->size = 4;
	cp_ring_begin(&ring);
	CHECK_EQ(cp_ring_next(&ring, &hdr), -EBADMSG);
	cp_ring_fini(&ring);
	free(f);
	return 0;
}

TEST(ring_rejects_a_size_that_is_not_a_power_of_two)
{
	struct perf_event_mmap_page meta = { 0 };
	unsigned char data[100];
	struct cp_ring ring;

	CHECK_EQ(cp_ring_init(&ring, &meta, data, sizeof(data)), -EINVAL);
	return 0;
}

struct collected {
	uint16_t types[16];
	size_t n;
};

static int collect(const struct perf_event_header *hdr, void *arg)
{
	struct collected *c = arg;

	c->types[c->n++] = hdr->type;
	return 0;
}

TEST(order_releases_records_by_time_up_to_the_cutoff)
{
	struct cp_order q;
	struct collected got = { .n = 0 };
	struct perf_event_header a = { .type = 1, .size = sizeof(a) };
	struct perf_event_header b = { .type = 2, .size = sizeof(b) };
	struct perf_event_header c = { .type = 3, .size = sizeof(c) };
	struct perf_event_header d = { .type = 4, .size = sizeof(d) };

	cp_order_init(&q);
	/* As read from two rings: CPU 1's records first, then CPU 0's. */
	CHECK_OK(cp_order_push(&q, 30, &c));
	CHECK_OK(cp_order_push(&q, 50, &d));
	CHECK_OK(cp_order_push(&q, 10, &a));
	CHECK_OK(cp_order_push(&q, 30, &b)); /* same time as c, read later */
	CHECK_OK(cp_order_flush(&q, 40, collect, &got));
	CHECK_EQ(got.n, 3);
	CHECK_EQ(got.types[0], 1);
	CHECK_EQ(got.types[1], 3);
	CHECK_EQ(got.types[2], 2);
	CHECK_EQ(q.len, 1);
	CHECK_OK(cp_order_flush(&q, UINT64_MAX, collect, &got));
	CHECK_EQ(got.n, 4);
	CHECK_EQ(got.types[3], 4);
	cp_order_fini(&q);
	return 0;
}

TEST(proc_new_mapping_cuts_older_ones)
{
	struct cp_procs procs;
	const struct cp_map *m;
	struct cp_proc *proc;

	/* Mappings of neither a file nor anonymous code ("[heap]") need no symbolizer. */
	cp_procs_init(&procs, NULL);
	CHECK(cp_procs_add_map(&procs, 7, 0x1000, 0x9000, 0, "[heap]", NULL, 0));
	const struct cp_map *old = cp_procs_lookup(&procs, cp_procs_get(&procs, 7), 0x1000);

	CHECK(old);
	/* Map over the middle: the old one survives as two trimmed pieces. */
	CHECK(cp_procs_add_map(&procs, 7, 0x4000, 0x2000, 0x100000, "[heap]", NULL, 0));
	proc = cp_procs_get(&procs, 7);
	proc->procfs_tried = true;
	CHECK_EQ(proc->nmaps, 3);

	m = cp_procs_lookup(&procs, proc, 0x3fff);
	CHECK(m && m->start == 0x1000 && m->end == 0x4000 && m->pgoff == 0);
	m = cp_procs_lookup(&procs, proc, 0x4000);
	CHECK(m && m->start == 0x4000 && m->end == 0x6000 && m->pgoff == 0x100000);
	m = cp_procs_lookup(&procs, proc, 0x6000);
	CHECK(m && m->start == 0x6000 && m->end == 0xa000 && m->pgoff == 0x5000);
	CHECK(cp_procs_lookup(&procs, proc, 0xa000) == NULL);
	/* The original object is untouched: old stacks still point at it. */
	CHECK(old->start == 0x1000 && old->end == 0xa000);

	/* A fork copies the mappings; an exec then empties the child's. */
	CHECK_OK(cp_procs_fork(&procs, 7, 8, 7));
	struct cp_proc *child = cp_procs_find(&procs, 8);

	CHECK(child && child->nmaps == 3);
	cp_procs_exec(&procs, 8);
	CHECK_EQ(child->nmaps, 0);
	CHECK_EQ(proc->nmaps, 3);
	cp_procs_fini(&procs);
	return 0;
}

TEST(proc_exits_forget_threads_then_the_process)
{
	struct cp_procs procs;

	cp_procs_init(&procs, NULL);
	CHECK_OK(cp_procs_set_name(&procs, 20, 20, "main"));
	CHECK_OK(cp_procs_new_thread(&procs, 20, 21, 20));
	CHECK(cp_procs_add_map(&procs, 20, 0x1000, 0x1000, 0, "[heap]", NULL, 0));
	/* The main thread exits first; the process lives on in thread 21. */
	cp_procs_exit(&procs, 20, 20);
	CHECK(cp_procs_find(&procs, 20) != NULL);
	CHECK_EQ(cp_procs_find(&procs, 20)->nmaps, 1);
	CHECK_STREQ(cp_procs_thread_name(&procs, 20, 21), "main");
	cp_procs_exit(&procs, 20, 21);
	CHECK(cp_procs_find(&procs, 20) == NULL);
	/* An exit of something never seen is ignored. */
	cp_procs_exit(&procs, 99, 99);
	cp_procs_fini(&procs);
	return 0;
}

TEST(proc_thread_names_follow_comm_and_clone)
{
	struct cp_procs procs;

	cp_procs_init(&procs, NULL);
	CHECK_OK(cp_procs_set_name(&procs, 10, 10, "server"));
	CHECK_OK(cp_procs_new_thread(&procs, 10, 11, 10));
	CHECK_STREQ(cp_procs_thread_name(&procs, 10, 11), "server");
	CHECK_OK(cp_procs_set_name(&procs, 10, 11, "worker"));
	CHECK_STREQ(cp_procs_thread_name(&procs, 10, 11), "worker");
	CHECK_STREQ(cp_procs_thread_name(&procs, 10, 10), "server");
	/* The same name is the same pointer: stacks compare names by pointer. */
	CHECK_OK(cp_procs_set_name(&procs, 10, 12, "worker"));
	CHECK(cp_procs_thread_name(&procs, 10, 12) == cp_procs_thread_name(&procs, 10, 11));
	cp_procs_fini(&procs);
	return 0;
}
