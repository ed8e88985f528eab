#include "lnl_safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_error.h"

#define MAX_HEADER_BYTES (100u * 1024u * 1024u)
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: larger JSON numbers lose precision */

static const struct {
  const char *name;
  lnl_dtype dtype;
  size_t size;
} DTYPES[] = {
    {"BOOL", LNL_DT_BOOL, 1},       {"U8", LNL_DT_U8, 1},           {"I8", LNL_DT_I8, 1},
    {"F8_E4M3", LNL_DT_F8_E4M3, 1}, {"F8_E5M2", LNL_DT_F8_E5M2, 1}, {"I16", LNL_DT_I16, 2},
    {"U16", LNL_DT_U16, 2},         {"F16", LNL_DT_F16, 2},         {"BF16", LNL_DT_BF16, 2},
    {"I32", LNL_DT_I32, 4},         {"U32", LNL_DT_U32, 4},         {"F32", LNL_DT_F32, 4},
    {"I64", LNL_DT_I64, 8},         {"U64", LNL_DT_U64, 8},         {"F64", LNL_DT_F64, 8},
};

const char *lnl_dtype_name(lnl_dtype dtype) {
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (DTYPES[i].dtype == dtype) return DTYPES[i].name;
  return "?";
}

static int parse_dtype(const char *name, lnl_dtype *dtype, size_t *size) {
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++) {
    if (strcmp(DTYPES[i].name, name) == 0) {
      *dtype = DTYPES[i].dtype;
      *size = DTYPES[i].size;
      return 1;
    }
  }
  return 0;
}

/* A JSON number that is a non-negative integer representable exactly. */
static int json_uint(const cJSON *item, uint64_t *value) {
  if (!cJSON_IsNumber(item)) return 0;
  double d = item->valuedouble;
  if (!(d >= 0.0) || d > MAX_EXACT_INT || floor(d) != d) return 0;
  *value = (uint64_t)d;
  return 1;
}

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy) memcpy(copy, s, n);
  return copy;
}

/* By offset, then by size: an empty tensor sits before a tensor at its offset. */
static int compare_offsets(const void *a, const void *b) {
  const lnl_tensor_view *x = a, *y = b;
  if (x->data != y->data) return x->data < y->data ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes ? 1 : 0;
}

static lnl_status parse_metadata(const cJSON *obj, lnl_safetensors *st, lnl_error *err) {
  if (!cJSON_IsObject(obj))
    return lnl_fail(err, LNL_ERR_FORMAT, "__metadata__ is not a JSON object");
  int n = cJSON_GetArraySize(obj);
  st->metadata = calloc((size_t)n + 1, sizeof *st->metadata);
  if (!st->metadata) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading metadata");
  const cJSON *item;
  cJSON_ArrayForEach(item, obj) {
    if (!cJSON_IsString(item))
      return lnl_fail(err, LNL_ERR_FORMAT, "metadata value '%s' is not a string", item->string);
    for (int i = 0; i < st->metadata_count; i++)
      if (strcmp(st->metadata[i].key, item->string) == 0)
        return lnl_fail(err, LNL_ERR_FORMAT, "metadata key '%s' appears twice", item->string);
    lnl_metadata_entry *e = &st->metadata[st->metadata_count++];
    e->key = dup_string(item->string);
    e->value = dup_string(item->valuestring);
    if (!e->key || !e->value)
      return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading metadata");
  }
  return LNL_OK;
}

static lnl_status parse_tensor(const cJSON *item, const uint8_t *data, uint64_t data_size,
                               lnl_tensor_view *t, lnl_error *err) {
  const char *name = item->string;
  if (!cJSON_IsObject(item))
    return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': entry is not a JSON object", name);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
  size_t elem_size = 0;
  if (!cJSON_IsString(dtype))
    return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': missing dtype", name);
  if (!parse_dtype(dtype->valuestring, &t->dtype, &elem_size))
    return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': unknown dtype '%s'", name,
                    dtype->valuestring);
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > LNL_ST_MAX_DIMS)
    return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': shape must be a list of at most %d sizes",
                    name, LNL_ST_MAX_DIMS);
  uint64_t count = 1;
  t->ndim = 0;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, shape) {
    uint64_t d;
    if (!json_uint(dim, &d))
      return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': shape entry is not a size", name);
    if (d != 0 && count > UINT64_MAX / d)
      return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': shape too large", name);
    count *= d;
    t->shape[t->ndim++] = (int64_t)d;
  }
  uint64_t begin, end;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_uint(cJSON_GetArrayItem(offsets, 0), &begin) ||
      !json_uint(cJSON_GetArrayItem(offsets, 1), &end))
    return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s': data_offsets must be [begin, end]", name);
  if (begin > end || end > data_size)
    return lnl_fail(err, LNL_ERR_FORMAT,
                    "tensor '%s': data_offsets [%llu, %llu] outside the %llu-byte data section",
                    name, (unsigned long long)begin, (unsigned long long)end,
                    (unsigned long long)data_size);
  if (count > UINT64_MAX / elem_size || end - begin != count * elem_size)
    return lnl_fail(err, LNL_ERR_FORMAT,
                    "tensor '%s': %llu bytes of data for a shape that needs %llu", name,
                    (unsigned long long)(end - begin), (unsigned long long)(count * elem_size));
  t->data = data + begin;
  t->nbytes = (size_t)(end - begin);
  t->name = dup_string(name);
  if (!t->name) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading tensor names");
  return LNL_OK;
}

/* Tensors sorted by offset must tile the data section exactly. */
static lnl_status check_layout(lnl_safetensors *st, const uint8_t *data, uint64_t data_size,
                               lnl_error *err) {
  qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_offsets);
  uint64_t pos = 0;
  for (int i = 0; i < st->count; i++) {
    const lnl_tensor_view *t = &st->tensors[i];
    uint64_t begin = (uint64_t)(t->data - data);
    if (begin < pos)
      return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s' overlaps tensor '%s'", t->name,
                      st->tensors[i - 1].name);
    if (begin > pos)
      return lnl_fail(err, LNL_ERR_FORMAT, "unused bytes before tensor '%s' in the data section",
                      t->name);
    pos = begin + t->nbytes;
  }
  if (pos != data_size)
    return lnl_fail(err, LNL_ERR_FORMAT, "%llu unused bytes at the end of the data section",
                    (unsigned long long)(data_size - pos));
  return LNL_OK;
}

static lnl_status parse_header(const cJSON *root, const uint8_t *data, uint64_t data_size,
                               lnl_safetensors *st, lnl_error *err) {
  if (!cJSON_IsObject(root))
    return lnl_fail(err, LNL_ERR_FORMAT, "the header is not a JSON object");
  int n = cJSON_GetArraySize(root);
  st->tensors = calloc((size_t)n + 1, sizeof *st->tensors);
  if (!st->tensors) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading the header");
  const cJSON *item;
  int seen_metadata = 0;
  cJSON_ArrayForEach(item, root) {
    if (strcmp(item->string, "__metadata__") == 0) {
      if (seen_metadata++) return lnl_fail(err, LNL_ERR_FORMAT, "__metadata__ appears twice");
      lnl_status s = parse_metadata(item, st, err);
      if (s != LNL_OK) return s;
      continue;
    }
    if (lnl_safetensors_find(st, item->string))
      return lnl_fail(err, LNL_ERR_FORMAT, "tensor '%s' appears twice", item->string);
    lnl_status s = parse_tensor(item, data, data_size, &st->tensors[st->count], err);
    if (s != LNL_OK) return s;
    st->count++;
  }
  return check_layout(st, data, data_size, err);
}

lnl_status lnl_safetensors_parse(const uint8_t *buf, size_t size, lnl_safetensors *out,
                                 lnl_error *err) {
  memset(out, 0, sizeof *out);
  if (!buf || size < 8)
    return lnl_fail(err, LNL_ERR_FORMAT, "file too short for a safetensors header (%zu bytes)",
                    size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | buf[i];
  if (header_len > size - 8)
    return lnl_fail(err, LNL_ERR_FORMAT,
                    "header length %llu is beyond the end of the file (%zu bytes): truncated?",
                    (unsigned long long)header_len, size);
  if (header_len > MAX_HEADER_BYTES)
    return lnl_fail(err, LNL_ERR_FORMAT, "header length %llu exceeds the 100 MB limit",
                    (unsigned long long)header_len);
  if (header_len < 2 || buf[8] != '{')
    return lnl_fail(err, LNL_ERR_FORMAT, "the header does not start with a JSON object");
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)buf + 8, (size_t)header_len, &end, 0);
  if (!root) return lnl_fail(err, LNL_ERR_FORMAT, "the header is not valid JSON");
  /* only spaces may pad the header after the JSON object */
  for (const char *p = end; p < (const char *)buf + 8 + header_len; p++) {
    if (*p != ' ') {
      cJSON_Delete(root);
      return lnl_fail(err, LNL_ERR_FORMAT, "unexpected bytes after the header's JSON object");
    }
  }
  const uint8_t *data = buf + 8 + header_len;
  lnl_status s = parse_header(root, data, size - 8 - header_len, out, err);
  cJSON_Delete(root);
  if (s != LNL_OK) lnl_safetensors_free(out);
  return s;
}

void lnl_safetensors_free(lnl_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
  for (int i = 0; i < st->metadata_count; i++) {
    free(st->metadata[i].key);
    free(st->metadata[i].value);
  }
  free(st->tensors);
  free(st->metadata);
  memset(st, 0, sizeof *st);
}

const lnl_tensor_view *lnl_safetensors_find(const lnl_safetensors *st, const char *name) {
  for (int i = 0; i < st->count; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

size_t lnl_first_nonfinite(const float *values, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(values[i])) return i;
  return count;
}

const char *lnl_safetensors_metadata(const lnl_safetensors *st, const char *key) {
  for (int i = 0; i < st->metadata_count; i++)
    if (strcmp(st->metadata[i].key, key) == 0) return st->metadata[i].value;
  return NULL;
}
