/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"

static int debug_state = -1; /* -1: not decided yet, read CPROF_DEBUG */

void cp_log_set_debug(bool enabled)
{
	debug_state = enabled;
}

bool cp_log_debug_enabled(void)
{
	if (debug_state < 0) {
		const char *env = getenv("CPROF_DEBUG");

		debug_state = env && *env && *env != '0';
	}
	return debug_state;
}

void cp_debug(const char *fmt, ...)
{
	va_list ap;

	if (!cp_log_debug_enabled())
		return;
	va_start(ap, fmt);
	fputs("cprof: debug: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
