/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/ring.h"

/* perf_event_header.size is a u16: no record is larger. */
#define MAX_RECORD 65536

int cp_ring_init(struct cp_ring *ring, struct perf_event_mmap_page *meta, void *data, uint64_t size)
{
	memset(ring, 0, sizeof(*ring));
	if (!size || (size & (size - 1)))
		return -EINVAL;
	ring->bounce = malloc(MAX_RECORD);
	if (!ring->bounce)
		return -ENOMEM;
	ring->meta = meta;
	ring->data = data;
	ring->size = size;
	ring->tail = __atomic_load_n(&meta->data_tail, __ATOMIC_RELAXED);
	ring->head = ring->tail;
	return 0;
}

void cp_ring_fini(struct cp_ring *ring)
{
	free(ring->bounce);
	ring->bounce = NULL;
}

uint64_t cp_ring_begin(struct cp_ring *ring)
{
	ring->head = __atomic_load_n(&ring->meta->data_head, __ATOMIC_ACQUIRE);
	return ring->head - ring->tail;
}

/* Copy @len bytes starting at ring offset @pos, unwrapping. */
static void copy_out(const struct cp_ring *ring, void *dst, uint64_t pos, uint64_t len)
{
	uint64_t off = pos & (ring->size - 1);
	uint64_t first = ring->size - off < len ? ring->size - off : len;

	memcpy(dst, ring->data + off, first);
	memcpy((unsigned char *)dst + first, ring->data, len - first);
}

int cp_ring_next(struct cp_ring *ring, const struct perf_event_header **ret)
{
	uint64_t avail = ring->head - ring->tail;
	struct perf_event_header hdr;

	if (avail == 0)
		return 0;
	if (avail < sizeof(hdr))
		goto corrupt;

	copy_out(ring, &hdr, ring->tail, sizeof(hdr));
	if (hdr.size < sizeof(hdr) || hdr.size > avail)
		goto corrupt;

	uint64_t off = ring->tail & (ring->size - 1);

	if (off + hdr.size <= ring->size) {
		*ret = (const struct perf_event_header *)(ring->data + off);
	} else {
		copy_out(ring, ring->bounce, ring->tail, hdr.size);
		*ret = (const struct perf_event_header *)ring->bounce;
	}
	ring->tail += hdr.size;
	return 1;

corrupt:
	ring->tail = ring->head;
	return -EBADMSG;
}

void cp_ring_end(struct cp_ring *ring)
{
	__atomic_store_n(&ring->meta->data_tail, ring->tail, __ATOMIC_RELEASE);
}
