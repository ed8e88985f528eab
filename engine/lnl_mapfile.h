/* Opening a weights file: map it, hand the bytes to a parser, unmap. */
#ifndef LNL_MAPFILE_H
#define LNL_MAPFILE_H

#include <stddef.h>

#include "lnlfer.h"

/* Parses `size` bytes at `data` into *out (an lnl_model ** or lnl_detector **). */
typedef lnl_status (*lnl_parse_fn)(const void *data, size_t size, void *out, lnl_error *err);

/* Maps `path` read-only, runs `parse` on it and unmaps; errors name the file. */
lnl_status lnl_open_mapped(const char *path, lnl_parse_fn parse, void *out, lnl_error *err);

#endif
