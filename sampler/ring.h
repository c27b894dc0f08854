/* SPDX-License-Identifier: MIT */
/*
 * Reading a perf ring buffer.  struct cp_ring is a view of the memory (the
 * kernel's header page and the data area), so unit tests drive it over
 * synthetic buffers: wrap-around, LOST records, truncated records.
 *
 * Protocol (perf_event_open(2), "mmap layout"): load data_head with acquire
 * semantics, read records between our tail and that head, then publish the
 * new tail with release semantics so the kernel may reuse the space.
 */
#ifndef CP_SAMPLER_RING_H
#define CP_SAMPLER_RING_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>

struct cp_ring {
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t size; /* a power of two */
	uint64_t head; /* snapshot taken by cp_ring_begin() */
	uint64_t tail;
	unsigned char *bounce; /* a record that wraps is copied here */
};

/*
 * cp_ring_init() - view @meta and @size bytes of @data as a ring.
 * Return: 0 or -ENOMEM (the bounce buffer) / -EINVAL (size not a power of 2).
 */
int cp_ring_init(struct cp_ring *ring, struct perf_event_mmap_page *meta, void *data,
		 uint64_t size);
void cp_ring_fini(struct cp_ring *ring);

/* Snapshot the kernel's head.  Return: the number of bytes to read. */
uint64_t cp_ring_begin(struct cp_ring *ring);

/*
 * cp_ring_next() - the next whole record before the snapshot head.
 * @ret: the record, contiguous, valid until the next call on @ring.
 * Return: 1 with a record, 0 when none is left, or -EBADMSG when a header is
 * impossible (size below 8 or past the head): the rest of the snapshot is
 * then skipped, since record boundaries are lost.
 */
int cp_ring_next(struct cp_ring *ring, const struct perf_event_header **ret);

/* Give the space read so far back to the kernel. */
void cp_ring_end(struct cp_ring *ring);

#endif
