/* Filling an lnl_error: the one way the engine reports failures. */
#ifndef LNL_ERROR_H
#define LNL_ERROR_H

#include "lnlfer.h"

#if defined(__GNUC__)
#define LNL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LNL_PRINTF(a, b)
#endif

/* Sets err (when not NULL) and returns code, so callers can `return lnl_fail(...)`. */
lnl_status lnl_fail(lnl_error *err, lnl_status code, const char *fmt, ...) LNL_PRINTF(3, 4);

#endif
