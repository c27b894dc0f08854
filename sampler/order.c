/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sampler/sampler-internal.h"

struct order_rec {
	uint64_t time;
	uint64_t seq; /* arrival order: keeps records of equal time in ring order */
	union {
		struct perf_event_header hdr;
		uint64_t align;
	};
};

void cp_order_init(struct cp_order *q)
{
	memset(q, 0, sizeof(*q));
}

void cp_order_fini(struct cp_order *q)
{
	for (size_t i = 0; i < q->len; i++)
		free(q->recs[i]);
	free(q->recs);
	memset(q, 0, sizeof(*q));
}

int cp_order_push(struct cp_order *q, uint64_t time, const struct perf_event_header *hdr)
{
	if (cp_grow((void **)&q->recs, &q->cap, q->len + 1, sizeof(*q->recs)) < 0)
		return -ENOMEM;

	struct order_rec *rec = malloc(offsetof(struct order_rec, hdr) + hdr->size);

	if (!rec)
		return -ENOMEM;
	rec->time = time;
	rec->seq = q->seq++;
	memcpy(&rec->hdr, hdr, hdr->size);
	q->recs[q->len++] = rec;
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct order_rec *x = *(struct order_rec *const *)a;
	const struct order_rec *y = *(struct order_rec *const *)b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cp_order_flush(struct cp_order *q, uint64_t cutoff, cp_order_fn fn, void *arg)
{
	size_t done = 0;
	int r = 0;

	qsort(q->recs, q->len, sizeof(*q->recs), rec_cmp);
	while (done < q->len && q->recs[done]->time <= cutoff) {
		struct order_rec *rec = q->recs[done++];

		r = fn(&rec->hdr, arg);
		free(rec);
		if (r < 0)
			break;
	}
	memmove(q->recs, q->recs + done, (q->len - done) * sizeof(*q->recs));
	q->len -= done;
	return r < 0 ? r : 0;
}
