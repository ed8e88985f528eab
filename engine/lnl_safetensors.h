/* Safetensors reader: validates a whole file in memory before any tensor is used.
 *
 * Enforced: 8-byte little-endian header length within the file and at most
 * 100 MB; the header is one JSON object; every entry has a known dtype, a shape
 * of non-negative integers and data offsets inside the data section whose
 * length matches the shape; no two tensors overlap and no byte of the data
 * section is left unused; __metadata__, when present, maps strings to strings;
 * no name appears twice. */
#ifndef LNL_SAFETENSORS_H
#define LNL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lnlfer.h"

#define LNL_ST_MAX_DIMS 8

typedef enum lnl_dtype {
  LNL_DT_BOOL,
  LNL_DT_U8,
  LNL_DT_I8,
  LNL_DT_F8_E4M3,
  LNL_DT_F8_E5M2,
  LNL_DT_I16,
  LNL_DT_U16,
  LNL_DT_F16,
  LNL_DT_BF16,
  LNL_DT_I32,
  LNL_DT_U32,
  LNL_DT_F32,
  LNL_DT_I64,
  LNL_DT_U64,
  LNL_DT_F64
} lnl_dtype;

typedef struct lnl_tensor_view {
  char *name;
  lnl_dtype dtype;
  int ndim;
  int64_t shape[LNL_ST_MAX_DIMS];
  const uint8_t *data; /* points into the parsed buffer, not aligned */
  size_t nbytes;
} lnl_tensor_view;

typedef struct lnl_metadata_entry {
  char *key;
  char *value;
} lnl_metadata_entry;

typedef struct lnl_safetensors {
  lnl_tensor_view *tensors;
  int count;
  lnl_metadata_entry *metadata;
  int metadata_count;
} lnl_safetensors;

/* Parses `buf`, which must outlive the result (tensor data points into it). */
lnl_status lnl_safetensors_parse(const uint8_t *buf, size_t size, lnl_safetensors *out,
                                 lnl_error *err);
void lnl_safetensors_free(lnl_safetensors *st);

const lnl_tensor_view *lnl_safetensors_find(const lnl_safetensors *st, const char *name);
const char *lnl_safetensors_metadata(const lnl_safetensors *st, const char *key);
const char *lnl_dtype_name(lnl_dtype dtype);

/* The index of the first NaN or infinity among `count` floats, or `count` when all are
 * finite: weights are checked when they are loaded, so that no non-finite parameter
 * reaches a network. */
size_t lnl_first_nonfinite(const float *values, size_t count);

#endif
