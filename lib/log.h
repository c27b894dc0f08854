/* SPDX-License-Identifier: MIT */
/*
 * Debug logging for modules.  Modules never print warnings or errors
 * themselves: they return -errno and count partial failures, and cmd/ decides
 * what the user sees.  Debug lines appear with `cprof -v` or CPROF_DEBUG=1.
 */
#ifndef CP_LIB_LOG_H
#define CP_LIB_LOG_H

#include <stdbool.h>

void cp_log_set_debug(bool enabled);
bool cp_log_debug_enabled(void);

/* Print "cprof: debug: ..." and a newline to stderr when debugging is on. */
void cp_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
