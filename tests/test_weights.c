/* Weights-file validation: every malformed file is refused with LNL_ERR_FORMAT,
 * every well-formed file that is not a runnable network with LNL_ERR_MODEL, and
 * each time with a message that names the problem; the good file opens.
 * Files are built in memory, exactly sized, so that ASan sees any read past
 * the end. usage: test_weights RANDOM.safetensors */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lnl_safetensors.h"
#include "lnlfer.h"
#include "test_util.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* ---------------------------------------------------------------- building files */

/* A growing string. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

/* A JSON string literal for `s`. */
static void sb_json_string(sbuf *b, const char *s) {
  sb_printf(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      sb_printf(b, "\\%c", c);
    else if (c < 0x20)
      sb_printf(b, "\\u%04x", c);
    else
      sb_printf(b, "%c", c);
  }
  sb_printf(b, "\"");
}

/* length (8 bytes, little-endian) + header + data, in an exactly sized buffer */
static uint8_t *assemble_n(const char *header, size_t header_len, const void *data, size_t data_len,
                           size_t *size) {
  *size = 8 + header_len + data_len;
  uint8_t *buf = malloc(*size);
  if (!buf) abort();
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)header_len >> (8 * i));
  memcpy(buf + 8, header, header_len);
  if (data_len) memcpy(buf + 8 + header_len, data, data_len);
  return buf;
}

static uint8_t *assemble(const char *header, const void *data, size_t data_len, size_t *size) {
  return assemble_n(header, strlen(header), data, data_len, size);
}

static uint8_t *copy_bytes(const void *src, size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  if (!p) abort();
  if (n) memcpy(p, src, n);
  return p;
}

/* One tensor of a file rebuilt by build_file(); offsets are laid out there. */
typedef struct entry {
  const char *name;
  const char *dtype;
  int ndim;
  int64_t shape[LNL_ST_MAX_DIMS];
  const uint8_t *data;
  size_t nbytes;
} entry;

/* A file with the tensors `e` in this order and the metadata of `meta`. */
static uint8_t *build_file(const entry *e, int n, const lnl_safetensors *meta, size_t *size) {
  sbuf h = {0};
  size_t offset = 0;
  sb_printf(&h, "{");
  for (int i = 0; i < n; i++) {
    sb_printf(&h, "%s", i ? "," : "");
    sb_json_string(&h, e[i].name);
    sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", e[i].dtype);
    for (int d = 0; d < e[i].ndim; d++)
      sb_printf(&h, "%s%lld", d ? "," : "", (long long)e[i].shape[d]);
    sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + e[i].nbytes);
    offset += e[i].nbytes;
  }
  if (meta && meta->metadata_count) {
    sb_printf(&h, "%s\"__metadata__\":{", n ? "," : "");
    for (int i = 0; i < meta->metadata_count; i++) {
      sb_printf(&h, "%s", i ? "," : "");
      sb_json_string(&h, meta->metadata[i].key);
      sb_printf(&h, ":");
      sb_json_string(&h, meta->metadata[i].value);
    }
    sb_printf(&h, "}");
  }
  sb_printf(&h, "}");
  uint8_t *data = malloc(offset ? offset : 1);
  if (!data) abort();
  offset = 0;
  for (int i = 0; i < n; i++) {
    if (e[i].nbytes) memcpy(data + offset, e[i].data, e[i].nbytes);
    offset += e[i].nbytes;
  }
  uint8_t *buf = assemble(h.p, data, offset, size);
  free(data);
  free(h.p);
  return buf;
}

/* `s` with the first occurrence of `from` replaced by `to`. */
static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  CHECK_MSG(at != NULL, "'%s' not found in the header", from);
  if (!at) return (char *)copy_bytes(s, strlen(s) + 1);
  size_t head = (size_t)(at - s), nfrom = strlen(from), nto = strlen(to);
  size_t tail = strlen(at + nfrom);
  char *out = malloc(head + nto + tail + 1);
  if (!out) abort();
  memcpy(out, s, head);
  memcpy(out + head, to, nto);
  memcpy(out + head + nto, at + nfrom, tail + 1);
  return out;
}

/* ---------------------------------------------------------------- expectations */

static int cases;

/* `buf` is refused with `code` by lnl_model_open_memory, with a message that
 * contains every string of the NULL-terminated `needles`; the parser alone
 * agrees on whether the file is well-formed. */
static void expect(const char *what, const uint8_t *buf, size_t size, lnl_status code,
                   const char *const *needles) {
  static int sentinel;
  lnl_model *model = (lnl_model *)(void *)&sentinel;
  lnl_error err = {LNL_OK, "(unset)"};
  cases++;
  lnl_status s = lnl_model_open_memory(buf, size, &model, &err);
  CHECK_MSG(s == code, "%s: status %s, expected %s (%s)", what, lnl_status_name(s),
            lnl_status_name(code), err.message);
  CHECK_MSG(err.code == s, "%s: err.code %d != status %d", what, (int)err.code, (int)s);
  CHECK_MSG(model == NULL, "%s: *out not reset on failure", what);
  if (s == LNL_OK) lnl_model_close(model);
  CHECK_MSG(err.message[0] != '\0' && strcmp(err.message, "(unset)") != 0, "%s: no message", what);
  for (int i = 0; needles[i]; i++)
    CHECK_MSG(strstr(err.message, needles[i]) != NULL, "%s: message '%s' lacks '%s'", what,
              err.message, needles[i]);
  printf("%-44s %-22s %s\n", what, lnl_status_name(s), err.message);

  /* the parser alone: format errors are its own, model errors are not */
  lnl_safetensors st;
  lnl_error perr = {0};
  s = lnl_safetensors_parse(buf, size, &st, &perr);
  if (code == LNL_ERR_FORMAT) {
    CHECK_MSG(s == LNL_ERR_FORMAT, "%s: parser says %s", what, lnl_status_name(s));
    CHECK_MSG(strcmp(perr.message, err.message) == 0, "%s: parser message '%s'", what,
              perr.message);
    CHECK_MSG(st.tensors == NULL && st.count == 0 && st.metadata == NULL,
              "%s: parser output not cleared", what);
  } else {
    CHECK_MSG(s == LNL_OK, "%s: parser refuses a well-formed file: %s", what, perr.message);
  }
  lnl_safetensors_free(&st);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expect on a buffer that is freed afterwards. */
static void expect_owned(const char *what, uint8_t *buf, size_t size, lnl_status code,
                         const char *const *needles) {
  expect(what, buf, size, code, needles);
  free(buf);
}

/* A hand-written header with `data_len` bytes of data (the bytes 0, 1, 2, ...). */
static void expect_header(const char *what, const char *header, size_t data_len, lnl_status code,
                          const char *const *needles) {
  uint8_t data[64];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
  if (data_len > sizeof data) abort();
  size_t size;
  uint8_t *buf = assemble(header, data, data_len, &size);
  expect_owned(what, buf, size, code, needles);
}

/* A hand-written header that must parse. */
static void expect_parses(const char *what, const char *header, size_t data_len, int count) {
  uint8_t data[64] = {0};
  if (data_len > sizeof data) abort();
  size_t size;
  uint8_t *buf = assemble(header, data, data_len, &size);
  lnl_safetensors st;
  lnl_error err = {0};
  cases++;
  lnl_status s = lnl_safetensors_parse(buf, size, &st, &err);
  CHECK_MSG(s == LNL_OK, "%s: %s", what, err.message);
  CHECK_MSG(s != LNL_OK || st.count == count, "%s: %d tensors, expected %d", what, st.count, count);
  printf("%-44s %-22s\n", what, lnl_status_name(s));
  lnl_safetensors_free(&st);
  free(buf);
}

/* ---------------------------------------------------------------- the real model */

static struct {
  const char *path;
  uint8_t *file;
  size_t size;
  char *header; /* NUL-terminated copy of the header text */
  const uint8_t *data;
  size_t data_len;
  lnl_safetensors st; /* parsed from `file` */
} orig;

/* The real model with its header text edited (`from` -> `to`) and the same data. */
static void expect_edit(const char *what, const char *from, const char *to, lnl_status code,
                        const char *const *needles) {
  char *h = replace(orig.header, from, to);
  size_t size;
  uint8_t *buf = assemble(h, orig.data, orig.data_len, &size);
  expect_owned(what, buf, size, code, needles);
  free(h);
}

/* The real model's tensors as entries (room for one more at the end). */
static entry *model_entries(void) {
  entry *e = calloc((size_t)orig.st.count + 1, sizeof *e);
  if (!e) abort();
  for (int i = 0; i < orig.st.count; i++) {
    const lnl_tensor_view *t = &orig.st.tensors[i];
    e[i] = (entry){t->name, lnl_dtype_name(t->dtype), t->ndim, {0}, t->data, t->nbytes};
    memcpy(e[i].shape, t->shape, sizeof t->shape);
  }
  return e;
}

static entry *find_entry(entry *e, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(e[i].name, name) == 0) return &e[i];
  fprintf(stderr, "the test model has no tensor '%s'\n", name);
  exit(1);
}

static void expect_entries(const char *what, const entry *e, int n, lnl_status code,
                           const char *const *needles) {
  size_t size;
  uint8_t *buf = build_file(e, n, &orig.st, &size);
  expect_owned(what, buf, size, code, needles);
}

/* ---------------------------------------------------------------- cases */

static void check_lengths(void) {
  uint8_t *one = malloc(1);
  expect("NULL buffer", NULL, 0, LNL_ERR_FORMAT, NEEDLES("too short"));
  expect("empty buffer", one, 0, LNL_ERR_FORMAT, NEEDLES("too short", "0 bytes"));
  free(one);
  expect_owned("7 bytes", copy_bytes(orig.file, 7), 7, LNL_ERR_FORMAT,
               NEEDLES("too short", "7 bytes"));

  /* the real file cut short: in the length, in the header, in the data */
  size_t header_end = 8 + strlen(orig.header);
  size_t cuts[] = {1,
                   4,
                   8,
                   9,
                   100,
                   header_end - 1,
                   header_end,
                   header_end + 1,
                   header_end + 1000,
                   orig.size / 2,
                   orig.size - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    char what[64];
    size_t n = cuts[i];
    snprintf(what, sizeof what, "truncated to %zu bytes", n);
    const char *needle = n < 8            ? "too short"
                         : n < header_end ? "beyond the end of the file"
                                          : "outside the";
    expect_owned(what, copy_bytes(orig.file, n), n, LNL_ERR_FORMAT, NEEDLES(needle));
  }
  /* and one byte too many */
  uint8_t *longer = malloc(orig.size + 1);
  memcpy(longer, orig.file, orig.size);
  longer[orig.size] = 0;
  expect_owned("one byte appended", longer, orig.size + 1, LNL_ERR_FORMAT,
               NEEDLES("1 unused bytes at the end"));

  /* header lengths that do not fit */
  size_t size;
  uint8_t *buf = assemble("{}", NULL, 0, &size);
  buf[0] = 0xe8, buf[1] = 0x03; /* 1000 */
  expect_owned("header length beyond the file", buf, size, LNL_ERR_FORMAT,
               NEEDLES("header length 1000", "beyond the end"));
  buf = assemble("{}", NULL, 0, &size);
  memset(buf, 0xff, 8);
  expect_owned("header length 2^64-1", buf, size, LNL_ERR_FORMAT,
               NEEDLES("header length 18446744073709551615", "beyond the end"));
  uint8_t *big_copy = copy_bytes(orig.file, orig.size);
  big_copy[7] = 0x01; /* the high byte of the real file's length */
  expect_owned("header length high byte set", big_copy, orig.size, LNL_ERR_FORMAT,
               NEEDLES("beyond the end"));

  /* a file big enough to hold a header over the limit */
  size_t limit = 100u * 1024u * 1024u;
  uint8_t *huge = calloc(limit + 16, 1);
  if (!huge) abort();
  uint64_t len = limit + 1;
  for (int i = 0; i < 8; i++) huge[i] = (uint8_t)(len >> (8 * i));
  huge[8] = '{';
  expect_owned("header length 100 MB + 1", huge, limit + 16, LNL_ERR_FORMAT,
               NEEDLES("exceeds the 100 MB limit"));
}

static void check_json(void) {
  expect_header("header length 0", "", 0, LNL_ERR_FORMAT, NEEDLES("does not start"));
  expect_header("header '{' alone", "{", 0, LNL_ERR_FORMAT, NEEDLES("does not start"));
  expect_header("header is a JSON array", "[]", 0, LNL_ERR_FORMAT,
                NEEDLES("does not start with a JSON object"));
  expect_header("header is a JSON string", "\"{}\"", 0, LNL_ERR_FORMAT, NEEDLES("JSON object"));
  expect_header("header starts with a space", " {}", 0, LNL_ERR_FORMAT, NEEDLES("JSON object"));
  expect_header("header starts with a BOM", "\xef\xbb\xbf{}", 0, LNL_ERR_FORMAT,
                NEEDLES("JSON object"));
  expect_header("invalid JSON: cut object", "{\"a\":", 0, LNL_ERR_FORMAT,
                NEEDLES("not valid JSON"));
  expect_header("invalid JSON: no colon", "{\"a\" 1}", 0, LNL_ERR_FORMAT,
                NEEDLES("not valid JSON"));
  expect_header("invalid JSON: open string", "{\"a", 0, LNL_ERR_FORMAT, NEEDLES("not valid JSON"));
  expect_header("invalid JSON: single quotes", "{'a':1}", 0, LNL_ERR_FORMAT,
                NEEDLES("not valid JSON"));
  /* the JSON ends at the header length, not at a NUL or the file's end */
  expect_header("JSON object continues into data", "{\"a\":{}", 1, LNL_ERR_FORMAT,
                NEEDLES("not valid JSON"));
  expect_header("trailing garbage", "{}x", 0, LNL_ERR_FORMAT, NEEDLES("unexpected bytes after"));
  expect_header("trailing second object", "{} {}", 0, LNL_ERR_FORMAT,
                NEEDLES("unexpected bytes after"));
  expect_header("trailing newline", "{}\n", 0, LNL_ERR_FORMAT, NEEDLES("unexpected bytes after"));
  size_t size;
  uint8_t *nul = assemble_n("{}\0", 3, NULL, 0, &size);
  expect_owned("trailing NUL", nul, size, LNL_ERR_FORMAT, NEEDLES("unexpected bytes after"));
  expect_parses("empty header object", "{}", 0, 0);
  expect_parses("header padded with spaces", "{}      ", 0, 0);
  expect_parses("one tensor padded with spaces",
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}   ", 4, 1);
}

#define T(name, dtype, shape, b, e) \
  "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void check_entries(void) {
  expect_header("tensor entry not an object", "{\"t\":[1]}", 0, LNL_ERR_FORMAT,
                NEEDLES("'t'", "not a JSON object"));
  expect_header("missing dtype", "{\"t\":{\"shape\":[],\"data_offsets\":[0,0]}}", 0, LNL_ERR_FORMAT,
                NEEDLES("'t'", "missing dtype"));
  expect_header("dtype not a string", "{\"t\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}",
                4, LNL_ERR_FORMAT, NEEDLES("'t'", "dtype"));
  expect_header("unknown dtype", "{" T("t", "F31", "[1]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "unknown dtype 'F31'"));
  expect_header("lower-case dtype", "{" T("t", "f32", "[1]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "unknown dtype 'f32'"));
  expect_header("negative shape entry", "{" T("t", "F32", "[-1]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "shape entry is not a size"));
  expect_header("non-integer shape entry", "{" T("t", "F32", "[1.5]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "shape entry is not a size"));
  expect_header("string shape entry", "{" T("t", "F32", "[\"1\"]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "shape entry is not a size"));
  expect_header("huge shape entry", "{" T("t", "F32", "[1e300]", 0, 4) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "shape entry is not a size"));
  expect_header("shape not a list", "{" T("t", "F32", "4", 0, 16) "}", 16, LNL_ERR_FORMAT,
                NEEDLES("'t'", "shape must be a list"));
  expect_header("shape missing", "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "shape must be a list"));
  expect_header("9 dimensions", "{" T("t", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1,
                LNL_ERR_FORMAT, NEEDLES("'t'", "at most 8"));
  expect_parses("8 dimensions", "{" T("t", "U8", "[1,1,1,1,1,1,1,1]", 0, 1) "}", 1, 1);
  expect_header("shape product overflows", "{" T("t", "U8", "[4294967296,4294967296]", 0, 1) "}", 1,
                LNL_ERR_FORMAT, NEEDLES("'t'", "shape too large"));
  expect_header("shape bytes overflow", "{" T("t", "F64", "[4294967296,536870912]", 0, 1) "}", 1,
                LNL_ERR_FORMAT, NEEDLES("'t'", "bytes of data"));

  expect_header("data_offsets end beyond data", "{" T("t", "F32", "[2]", 0, 8) "}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "[0, 8] outside the 4-byte data section"));
  expect_header("data_offsets both beyond data", "{" T("t", "F32", "[1]", 8, 12) "}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "[8, 12] outside"));
  expect_header("data_offsets begin > end", "{" T("t", "F32", "[1]", 4, 0) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "[4, 0]"));
  expect_header("data_offsets negative", "{" T("t", "F32", "[1]", -4, 0) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "data_offsets must be [begin, end]"));
  expect_header("data_offsets fractional", "{" T("t", "U8", "[1]", 0, 0.5) "}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "data_offsets must be [begin, end]"));
  expect_header("data_offsets of one number",
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4, LNL_ERR_FORMAT,
                NEEDLES("'t'", "data_offsets must be [begin, end]"));
  expect_header("data_offsets of three numbers",
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,4]}}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "data_offsets must be [begin, end]"));
  expect_header("data_offsets missing", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "data_offsets"));
  expect_header("data_offsets strings",
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "data_offsets"));

  expect_header("byte length too short for shape", "{" T("t", "F32", "[2]", 0, 4) "}", 4,
                LNL_ERR_FORMAT, NEEDLES("'t'", "4 bytes of data for a shape that needs 8"));
  expect_header("byte length too long for shape", "{" T("t", "F32", "[1]", 0, 8) "}", 8,
                LNL_ERR_FORMAT, NEEDLES("'t'", "8 bytes of data for a shape that needs 4"));
  expect_header("scalar with no bytes", "{" T("t", "F32", "[]", 0, 0) "}", 0, LNL_ERR_FORMAT,
                NEEDLES("'t'", "0 bytes of data for a shape that needs 4"));
  expect_parses("scalar", "{" T("t", "F32", "[]", 0, 4) "}", 4, 1);
  /* every dtype, one element each */
  static const struct {
    const char *name;
    int size;
  } dtypes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
                {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  sbuf h = {0};
  int offset = 0, n = (int)(sizeof dtypes / sizeof dtypes[0]);
  for (int i = 0; i < n; i++) {
    sb_printf(&h, "%s\"t%d\":{\"dtype\":\"%s\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
              i ? "," : "{", i, dtypes[i].name, offset, offset + dtypes[i].size);
    offset += dtypes[i].size;
  }
  sb_printf(&h, "}");
  expect_parses("every dtype", h.p, (size_t)offset, n);
  free(h.p);

  expect_header("two tensors overlap",
                "{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[1]", 4, 8) "}", 8,
                LNL_ERR_FORMAT, NEEDLES("'b' overlaps tensor 'a'"));
  expect_header("two tensors share bytes",
                "{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 0, 4) "}", 4,
                LNL_ERR_FORMAT, NEEDLES("overlaps", "'a'", "'b'"));
  expect_header("hole between tensors",
                "{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", 12,
                LNL_ERR_FORMAT, NEEDLES("unused bytes before tensor 'b'"));
  expect_header("hole before the first tensor", "{" T("a", "F32", "[1]", 4, 8) "}", 8,
                LNL_ERR_FORMAT, NEEDLES("unused bytes before tensor 'a'"));
  expect_header("unused bytes at the end", "{" T("a", "F32", "[1]", 0, 4) "}", 8, LNL_ERR_FORMAT,
                NEEDLES("4 unused bytes at the end"));
  expect_header("data but no tensors", "{}", 3, LNL_ERR_FORMAT,
                NEEDLES("3 unused bytes at the end"));
  expect_parses("tensors out of offset order",
                "{" T("b", "U8", "[2]", 4, 6) "," T("a", "F32", "[1]", 0, 4) "}", 6, 2);
  expect_parses("empty tensor after a tensor at its offset",
                "{" T("a", "F32", "[1]", 0, 4) "," T("e", "F32", "[0]", 0, 0) "}", 4, 2);
  expect_parses("empty tensor before a tensor at its offset",
                "{" T("e", "F32", "[0]", 0, 0) "," T("a", "F32", "[1]", 0, 4) "}", 4, 2);
  expect_parses("empty tensors only",
                "{" T("e", "F32", "[0]", 0, 0) "," T("f", "U8", "[3,0]", 0, 0) "}", 0, 2);

  expect_header("duplicate tensor name",
                "{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8,
                LNL_ERR_FORMAT, NEEDLES("tensor 'a' appears twice"));
}

static void check_metadata(void) {
  expect_header("__metadata__ is a list", "{\"__metadata__\":[\"a\"]}", 0, LNL_ERR_FORMAT,
                NEEDLES("__metadata__ is not a JSON object"));
  expect_header("__metadata__ is a string", "{\"__metadata__\":\"a\"}", 0, LNL_ERR_FORMAT,
                NEEDLES("__metadata__ is not a JSON object"));
  expect_header("metadata value a number", "{\"__metadata__\":{\"a\":\"b\",\"k\":1}}", 0,
                LNL_ERR_FORMAT, NEEDLES("metadata value 'k' is not a string"));
  expect_header("metadata value null", "{\"__metadata__\":{\"k\":null}}", 0, LNL_ERR_FORMAT,
                NEEDLES("'k' is not a string"));
  expect_header("metadata value an object", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0,
                LNL_ERR_FORMAT, NEEDLES("'k' is not a string"));
  expect_header("duplicate metadata key", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0,
                LNL_ERR_FORMAT, NEEDLES("metadata key 'k' appears twice"));
  expect_header("duplicate __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
                LNL_ERR_FORMAT, NEEDLES("__metadata__ appears twice"));

  /* well-formed files that carry no network */
  expect_header("no tensors, no metadata", "{}", 0, LNL_ERR_MODEL,
                NEEDLES("no 'lnl.config' metadata"));
  expect_header("metadata without lnl.config", "{\"__metadata__\":{\"format\":\"pt\"}}", 0,
                LNL_ERR_MODEL, NEEDLES("no 'lnl.config' metadata"));
  expect_header("lnl.config empty", "{\"__metadata__\":{\"lnl.config\":\"\"}}", 0, LNL_ERR_MODEL,
                NEEDLES("'lnl.config' metadata is not valid JSON"));
  expect_header("lnl.config a number", "{\"__metadata__\":{\"lnl.config\":\"7\"}}", 0,
                LNL_ERR_MODEL, NEEDLES("'lnl.config' metadata is not a JSON object"));
  expect_header("lnl.config an empty object", "{\"__metadata__\":{\"lnl.config\":\"{}\"}}", 0,
                LNL_ERR_MODEL, NEEDLES("'format'"));

  /* the real config with no tensors at all */
  sbuf h = {0};
  sb_printf(&h, "{\"__metadata__\":{\"lnl.config\":");
  sb_json_string(&h, lnl_safetensors_metadata(&orig.st, "lnl.config"));
  sb_printf(&h, "}}");
  expect_header("real config, no tensors", h.p, 0, LNL_ERR_MODEL,
                NEEDLES("tensor 'unet.enc0.0.conv.weight' [16, 1, 3, 3] is missing"));
  free(h.p);
}

/* What the parser returns for a good file: views into the buffer. */
static void check_views(void) {
  const char *header = "{" T("b", "U8", "[2,1]", 4, 6) "," T(
      "a", "F32", "[]", 0, 4) ",\"__metadata__\":{\"k\":\"v\",\"e\":\"\"}}  ";
  const uint8_t data[6] = {1, 2, 3, 4, 5, 6};
  size_t size;
  uint8_t *buf = assemble(header, data, sizeof data, &size);
  const uint8_t *base = buf + 8 + strlen(header);
  lnl_safetensors st;
  lnl_error err = {0};
  cases++;
  CHECK_MSG(lnl_safetensors_parse(buf, size, &st, &err) == LNL_OK, "%s", err.message);
  const lnl_tensor_view *a = lnl_safetensors_find(&st, "a"), *b = lnl_safetensors_find(&st, "b");
  CHECK(st.count == 2 && a && b && !lnl_safetensors_find(&st, "c"));
  if (a && b) {
    CHECK(a->dtype == LNL_DT_F32 && a->ndim == 0 && a->data == base && a->nbytes == 4);
    CHECK(b->dtype == LNL_DT_U8 && b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 1);
    CHECK(b->data == base + 4 && b->nbytes == 2 && b->data[1] == 6);
  }
  CHECK(st.metadata_count == 2);
  CHECK(lnl_safetensors_metadata(&st, "k") && strcmp(lnl_safetensors_metadata(&st, "k"), "v") == 0);
  CHECK(lnl_safetensors_metadata(&st, "e") && lnl_safetensors_metadata(&st, "e")[0] == '\0');
  CHECK(lnl_safetensors_metadata(&st, "x") == NULL);
  CHECK(strcmp(lnl_dtype_name(LNL_DT_BF16), "BF16") == 0);
  lnl_safetensors_free(&st);
  CHECK(st.count == 0 && st.tensors == NULL);
  lnl_safetensors_free(&st); /* twice is harmless */
  free(buf);
}

/* Edits of the real header: file-level problems first, then the config. */
static void check_model_header(void) {
  size_t size;
  char *padded = malloc(strlen(orig.header) + 8);
  sprintf(padded, "%s      ", orig.header);
  uint8_t *buf = assemble(padded, orig.data, orig.data_len, &size);
  lnl_model *model = NULL;
  lnl_error err = {0};
  cases++;
  CHECK_MSG(lnl_model_open_memory(buf, size, &model, &err) == LNL_OK, "padded header: %s",
            err.message);
  lnl_model_close(model);
  free(buf);
  free(padded);

  expect_edit("real: unknown dtype", "\"classifier.bias\":{\"dtype\":\"F32\"",
              "\"classifier.bias\":{\"dtype\":\"F31\"", LNL_ERR_FORMAT,
              NEEDLES("'classifier.bias'", "unknown dtype 'F31'"));
  expect_edit("real: F16 with F32 bytes", "\"classifier.bias\":{\"dtype\":\"F32\"",
              "\"classifier.bias\":{\"dtype\":\"F16\"", LNL_ERR_FORMAT,
              NEEDLES("'classifier.bias'", "32 bytes of data for a shape that needs 16"));
  expect_edit("real: shape without its bytes", "\"shape\":[8],", "\"shape\":[9],", LNL_ERR_FORMAT,
              NEEDLES("'classifier.bias'", "needs 36"));
  expect_edit("real: negative shape entry", "\"shape\":[8],", "\"shape\":[-8],", LNL_ERR_FORMAT,
              NEEDLES("'classifier.bias'", "shape entry is not a size"));
  expect_edit("real: offsets out of range", "\"data_offsets\":[3974920,4007688]",
              "\"data_offsets\":[3974920,4007692]", LNL_ERR_FORMAT,
              NEEDLES("'unet.up2.conv.weight'", "outside the 4007688-byte data section"));
  expect_edit("real: overlapping offsets", "\"data_offsets\":[32,6176]",
              "\"data_offsets\":[28,6172]", LNL_ERR_FORMAT,
              NEEDLES("'classifier.weight' overlaps tensor 'classifier.bias'"));
  expect_edit("real: duplicate tensor name", "\"classifier.weight\"", "\"classifier.bias\"",
              LNL_ERR_FORMAT, NEEDLES("tensor 'classifier.bias' appears twice"));
  expect_edit("real: metadata value a number", "\"lnl.macs\":\"108432672\"",
              "\"lnl.macs\":108432672", LNL_ERR_FORMAT, NEEDLES("'lnl.macs' is not a string"));
  expect_edit("real: trailing garbage", "}}  ", "}}x ", LNL_ERR_FORMAT,
              NEEDLES("unexpected bytes after"));

  expect_edit("real: lnl.config renamed", "\"lnl.config\":", "\"lnl.konfig\":", LNL_ERR_MODEL,
              NEEDLES("no 'lnl.config' metadata"));
  expect_edit("real: lnl.config not JSON", "\"lnl.config\":\"{", "\"lnl.config\":\"x{",
              LNL_ERR_MODEL, NEEDLES("'lnl.config' metadata is not valid JSON"));
  expect_edit("real: lnl.config followed by more JSON", "\"lnl.config\":\"{",
              "\"lnl.config\":\"[1] {", LNL_ERR_MODEL, NEEDLES("not valid JSON"));
  expect_edit("config: wrong format", "lnlfer-lnlnet", "lnlfer-other", LNL_ERR_MODEL,
              NEEDLES("'format'", "lnlfer-lnlnet"));
  expect_edit("config: format missing", "\\\"format\\\"", "\\\"formats\\\"", LNL_ERR_MODEL,
              NEEDLES("'format'"));
  expect_edit("config: future version", "\\\"version\\\": 1}", "\\\"version\\\": 2}", LNL_ERR_MODEL,
              NEEDLES("version 2 is newer than this engine"));
  expect_edit("config: version 0", "\\\"version\\\": 1}", "\\\"version\\\": 0}", LNL_ERR_MODEL,
              NEEDLES("'version'"));
  expect_edit("config: version a string", "\\\"version\\\": 1}", "\\\"version\\\": \\\"1\\\"}",
              LNL_ERR_MODEL, NEEDLES("'version'", "not an integer"));
  expect_edit("config: input_size not multiple of 8", "\\\"input_size\\\": 48",
              "\\\"input_size\\\": 44", LNL_ERR_MODEL,
              NEEDLES("'input_size' must be a multiple of 8"));
  expect_edit("config: input_size too large", "\\\"input_size\\\": 48", "\\\"input_size\\\": 4096",
              LNL_ERR_MODEL, NEEDLES("'input_size'", "outside"));
  expect_edit("config: input_size fractional", "\\\"input_size\\\": 48", "\\\"input_size\\\": 48.5",
              LNL_ERR_MODEL, NEEDLES("'input_size'", "not an integer"));
  expect_edit("config: input_channels 2", "\\\"input_channels\\\": 1", "\\\"input_channels\\\": 2",
              LNL_ERR_MODEL, NEEDLES("'input_channels'"));
  expect_edit("config: input_channels 4", "\\\"input_channels\\\": 1", "\\\"input_channels\\\": 4",
              LNL_ERR_MODEL, NEEDLES("'input_channels'"));
  expect_edit("config: region outside the features", "[12, 12, 12, 12]]", "[14, 12, 12, 12]]",
              LNL_ERR_MODEL, NEEDLES("region 8 lies outside the 24x24 features"));
  expect_edit("config: region at a negative x", "[0, 12, 12, 12]", "[-2, 12, 12, 12]",
              LNL_ERR_MODEL, NEEDLES("region 6 lies outside"));
  expect_edit("config: regions of different sizes", "[12, 12, 12, 12]]", "[12, 12, 10, 10]]",
              LNL_ERR_MODEL, NEEDLES("region 8 differs in size from region 0"));
  expect_edit("config: region off the pooling grid", "[12, 12, 12, 12]]", "[11, 12, 12, 12]]",
              LNL_ERR_MODEL, NEEDLES("region 8", "pooling grid"));
  expect_edit("config: region not 4 numbers", "[12, 12, 12, 12]]", "[12, 12, 12]]", LNL_ERR_MODEL,
              NEEDLES("region 8 is not [x, y, w, h]"));
  expect_edit("config: no regions", "\\\"regions\\\": [", "\\\"regions\\\": [], \\\"r\\\": [",
              LNL_ERR_MODEL, NEEDLES("'regions'"));
  expect_edit("config: std 0", "\\\"std\\\": 0.25", "\\\"std\\\": 0", LNL_ERR_MODEL,
              NEEDLES("'std' must be > 0"));
  expect_edit("config: std negative", "\\\"std\\\": 0.25", "\\\"std\\\": -1", LNL_ERR_MODEL,
              NEEDLES("'std'"));
  expect_edit("config: std 1e-300 (0 as a float)", "\\\"std\\\": 0.25", "\\\"std\\\": 1e-300",
              LNL_ERR_MODEL, NEEDLES("'std'"));
  expect_edit("config: std infinite", "\\\"std\\\": 0.25", "\\\"std\\\": 1e999", LNL_ERR_MODEL,
              NEEDLES("'std'"));
  expect_edit("config: bn_eps 0", "\\\"bn_eps\\\": 1e-05", "\\\"bn_eps\\\": 0", LNL_ERR_MODEL,
              NEEDLES("'bn_eps'"));
  expect_edit("config: mean missing", "\\\"mean\\\"", "\\\"meen\\\"", LNL_ERR_MODEL,
              NEEDLES("'mean' is missing"));
  expect_edit("config: too many classes", "\\\"classes\\\": [",
              "\\\"classes\\\": [\\\"a\\\", \\\"b\\\", \\\"c\\\", \\\"d\\\", \\\"e\\\", \\\"f\\\", "
              "\\\"g\\\", \\\"h\\\", \\\"i\\\", ",
              LNL_ERR_MODEL, NEEDLES("'classes' must list 2 to 16 names"));
  expect_edit("config: one class", "\\\"classes\\\": [",
              "\\\"classes\\\": [\\\"a\\\"], \\\"c\\\": [", LNL_ERR_MODEL, NEEDLES("'classes'"));
  expect_edit("config: class name too long", "\\\"neutral\\\"",
              "\\\"neutral-neutral-neutral-neutral-neutral\\\"", LNL_ERR_MODEL,
              NEEDLES("class name 0"));
  expect_edit("config: nonlocal_pool not dividing", "\\\"nonlocal_pool\\\": 2",
              "\\\"nonlocal_pool\\\": 5", LNL_ERR_MODEL,
              NEEDLES("'nonlocal_pool' does not divide 24"));
  expect_edit("config: unet_widths of 3", "[16, 32, 64, 128]", "[16, 32, 64]", LNL_ERR_MODEL,
              NEEDLES("'unet_widths' must be a list of 4"));
  expect_edit("config: decoder_widths of 3", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"decoder_widths\\\": [64, 32, 16]", LNL_ERR_MODEL,
              NEEDLES("'decoder_widths' must be a list of 2"));
  expect_edit("config: decoder width 0", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"decoder_widths\\\": [0, 32]", LNL_ERR_MODEL,
              NEEDLES("'decoder_widths'[0] is not an integer"));
  expect_edit("config: global_pool not dividing", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"global_hidden\\\": 32, \\\"global_pool\\\": 4", LNL_ERR_MODEL,
              NEEDLES("'global_pool' does not divide 6"));
  expect_edit("config: negative global_hidden", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"global_hidden\\\": -1", LNL_ERR_MODEL,
              NEEDLES("'global_hidden'"));

  /* config values the engine could run, but not with these tensors */
  expect_edit("config: 3 input channels", "\\\"input_channels\\\": 1", "\\\"input_channels\\\": 3",
              LNL_ERR_MODEL,
              NEEDLES("'unet.enc0.0.conv.weight' has shape [16, 1, 3, 3]", "[16, 3, 3, 3]"));
  expect_edit("config: 7 classes", ", \\\"contempt\\\"", "", LNL_ERR_MODEL,
              NEEDLES("'classifier.weight' has shape [8, 192]", "needs [7, 192]"));
  expect_edit("config: 8 regions", ", [12, 12, 12, 12]]", "]", LNL_ERR_MODEL,
              NEEDLES("'local.conv1.conv.weight' has shape [576, 48, 3, 3]", "[512, 48, 3, 3]"));
  expect_edit("config: narrower decoder", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"decoder_widths\\\": [48, 32]", LNL_ERR_MODEL,
              NEEDLES("'unet.up2.conv.weight' has shape [64, 128, 1, 1]", "needs [48, 128, 1, 1]"));
  expect_edit("config: global feature without its tensors", "[16, 32, 64, 128]",
              "[16, 32, 64, 128], \\\"global_hidden\\\": 32, \\\"global_pool\\\": 3", LNL_ERR_MODEL,
              NEEDLES("'classifier.weight' has shape [8, 192]", "needs [8, 96]"));
}

/* Tensor-level changes, with the file rebuilt around them. */
static void check_model_tensors(void) {
  int n = orig.st.count;
  entry *e = model_entries();
  size_t size;
  uint8_t *buf = build_file(e, n, &orig.st, &size);
  lnl_model *model = NULL;
  lnl_error err = {0};
  cases++;
  CHECK_MSG(lnl_model_open_memory(buf, size, &model, &err) == LNL_OK, "rebuilt model: %s",
            err.message);
  lnl_model_close(model);
  free(buf);

  /* a missing tensor: dropped, or renamed */
  entry *bias = find_entry(e, n, "classifier.bias");
  entry saved = *bias;
  *bias = e[n - 1];
  expect_entries("missing tensor", e, n - 1, LNL_ERR_MODEL,
                 NEEDLES("tensor 'classifier.bias' [8] is missing"));
  *bias = saved;
  bias->name = "classifier.bias_";
  expect_entries("renamed tensor", e, n, LNL_ERR_MODEL,
                 NEEDLES("tensor 'classifier.bias' [8] is missing"));
  *bias = saved;

  /* a wrong shape, with data to match */
  uint8_t more[36] = {0};
  memcpy(more, saved.data, saved.nbytes);
  bias->shape[0] = 9;
  bias->data = more;
  bias->nbytes = sizeof more;
  expect_entries("wrong shape [9]", e, n, LNL_ERR_MODEL,
                 NEEDLES("'classifier.bias' has shape [9]; the model config needs [8]"));
  *bias = saved;
  bias->ndim = 2;
  bias->shape[0] = 1;
  bias->shape[1] = 8;
  expect_entries("wrong rank [1, 8]", e, n, LNL_ERR_MODEL,
                 NEEDLES("'classifier.bias' has shape [1, 8]", "needs [8]"));
  *bias = saved;
  entry *weight = find_entry(e, n, "classifier.weight");
  entry saved_w = *weight;
  weight->shape[0] = 192;
  weight->shape[1] = 8;
  expect_entries("transposed shape", e, n, LNL_ERR_MODEL,
                 NEEDLES("'classifier.weight' has shape [192, 8]", "needs [8, 192]"));
  *weight = saved_w;

  /* an F16 tensor where F32 is needed (and other dtypes) */
  bias->dtype = "F16";
  bias->nbytes = saved.nbytes / 2;
  expect_entries("F16 tensor", e, n, LNL_ERR_MODEL,
                 NEEDLES("'classifier.bias' has dtype F16; the engine reads F32"));
  bias->dtype = "BF16";
  expect_entries("BF16 tensor", e, n, LNL_ERR_MODEL, NEEDLES("'classifier.bias'", "BF16"));
  bias->dtype = "F64";
  bias->nbytes = saved.nbytes * 2;
  uint8_t doubles[64] = {0};
  bias->data = doubles;
  expect_entries("F64 tensor", e, n, LNL_ERR_MODEL, NEEDLES("'classifier.bias'", "F64"));
  bias->dtype = "I32";
  bias->data = saved.data;
  bias->nbytes = saved.nbytes;
  expect_entries("I32 tensor", e, n, LNL_ERR_MODEL, NEEDLES("'classifier.bias'", "I32"));
  *bias = saved;

  /* an extra tensor nobody reads */
  const uint8_t extra[8] = {0};
  e[n] = (entry){"extra.weight", "F32", 1, {2}, extra, sizeof extra};
  expect_entries("extra unknown tensor", e, n + 1, LNL_ERR_MODEL,
                 NEEDLES("tensor 'extra.weight' is not part of the configured network"));

  /* a variance the batch-norm fold cannot take */
  entry *var = find_entry(e, n, "unet.enc0.0.bn.running_var");
  entry saved_v = *var;
  float *v = malloc(var->nbytes);
  memcpy(v, var->data, var->nbytes);
  v[3] = -1.0f;
  var->data = (const uint8_t *)v;
  expect_entries("negative running_var", e, n, LNL_ERR_MODEL,
                 NEEDLES("'unet.enc0.0.bn.running_var' has a negative variance"));
  v[3] = NAN;
  expect_entries("NaN running_var", e, n, LNL_ERR_MODEL, NEEDLES("'unet.enc0.0.bn.running_var'"));
  *var = saved_v;
  free(v);
  free(e);
}

static char *temp_file(const void *data, size_t size) {
  const char *dir = getenv("TMPDIR");
  sbuf path = {0};
  sb_printf(&path, "%s/lnl-test-weights-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path.p);
  if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
    perror(path.p);
    exit(1);
  }
  return path.p;
}

/* The recipe's crop, read from "lnl.recipe": aligned only when it says so. */
static void check_recipe_crop(void) {
  static const struct {
    const char *recipe; /* NULL: no lnl.recipe */
    int aligned;
  } cases_[] = {{NULL, 0},
                {"{\"crop\": \"aligned\", \"epochs\": 20}", 1},
                {"{\"crop\": \"dataset\"}", 0},
                {"{\"raf_crop\": \"native\"}", 0},
                {"{\"crop\": 1}", 0},
                {"not json", 0}};
  for (size_t k = 0; k < sizeof cases_ / sizeof cases_[0]; k++) {
    lnl_safetensors meta = orig.st;
    int n = orig.st.metadata_count;
    meta.metadata = calloc((size_t)n + 1, sizeof *meta.metadata);
    if (!meta.metadata) abort();
    int m = 0;
    for (int i = 0; i < n; i++)
      if (strcmp(orig.st.metadata[i].key, "lnl.recipe") != 0)
        meta.metadata[m++] = orig.st.metadata[i];
    if (cases_[k].recipe)
      meta.metadata[m++] = (lnl_metadata_entry){(char *)"lnl.recipe", (char *)cases_[k].recipe};
    meta.metadata_count = m;
    entry *e = model_entries();
    size_t size;
    uint8_t *buf = build_file(e, orig.st.count, &meta, &size);
    lnl_model *model = NULL;
    lnl_error err = {0};
    cases++;
    CHECK_MSG(lnl_model_open_memory(buf, size, &model, &err) == LNL_OK, "%s", err.message);
    CHECK_MSG(lnl_model_trained_on_aligned_crops(model) == cases_[k].aligned, "recipe %s",
              cases_[k].recipe ? cases_[k].recipe : "(none)");
    lnl_model_close(model);
    free(buf);
    free(e);
    free(meta.metadata);
  }
  CHECK(lnl_model_trained_on_aligned_crops(NULL) == 0);
}

static void check_open(void) {
  lnl_model *model = NULL;
  lnl_error err = {0};

  /* the good file, from memory: a buffer freed right after opening */
  uint8_t *copy = copy_bytes(orig.file, orig.size);
  cases++;
  CHECK_MSG(lnl_model_open_memory(copy, orig.size, &model, &err) == LNL_OK, "%s", err.message);
  free(copy);
  if (model) {
    CHECK(lnl_model_num_classes(model) == 8);
    CHECK(lnl_model_class_name(model, 0) && strcmp(lnl_model_class_name(model, 0), "neutral") == 0);
    CHECK(lnl_model_class_name(model, 7) &&
          strcmp(lnl_model_class_name(model, 7), "contempt") == 0);
    CHECK(lnl_model_class_name(model, 8) == NULL);
    CHECK(lnl_model_class_name(model, -1) == NULL);
    CHECK(lnl_model_input_size(model) == 48);
    CHECK(lnl_model_input_channels(model) == 1);
    CHECK(lnl_model_num_regions(model) == 9);
    const char *macs = lnl_model_metadata(model, "lnl.macs");
    CHECK(macs != NULL);
    if (macs)
      CHECK_MSG(lnl_model_macs(model) == strtoull(macs, NULL, 10), "macs %llu, file says %s",
                (unsigned long long)lnl_model_macs(model), macs);
    CHECK(lnl_model_metadata(model, "lnl.config") != NULL);
    CHECK(lnl_model_metadata(model, "no such key") == NULL);
    CHECK(lnl_model_metadata(model, NULL) == NULL);
    /* the tensors were copied: the network runs with the buffer gone */
    lnl_context *ctx = NULL;
    CHECK_MSG(lnl_context_new(model, 1, &ctx, &err) == LNL_OK, "%s", err.message);
    float *input = calloc(48 * 48, sizeof(float));
    lnl_result r;
    if (ctx) {
      CHECK_MSG(lnl_run(ctx, input, 1, &r, &err) == LNL_OK, "%s", err.message);
      float sum = 0.0f;
      for (int k = 0; k < 8; k++) sum += r.probs[k];
      CHECK_MSG(fabsf(sum - 1.0f) < 1e-4f, "probabilities sum to %g", (double)sum);
    }
    free(input);
    lnl_context_free(ctx);
  }
  lnl_model_close(model);
  lnl_model_close(NULL);

  /* the good file, from its path */
  model = NULL;
  cases++;
  CHECK_MSG(lnl_model_open(orig.path, &model, &err) == LNL_OK, "%s", err.message);
  CHECK(model && lnl_model_num_classes(model) == 8);
  lnl_model_close(model);
  model = NULL;
  CHECK(lnl_model_open(orig.path, &model, NULL) == LNL_OK);
  lnl_model_close(model);

  /* paths that are not weights files */
  sbuf missing = {0};
  sb_printf(&missing, "%s.does-not-exist", orig.path);
  model = NULL;
  cases++;
  CHECK(lnl_model_open(missing.p, &model, &err) == LNL_ERR_IO);
  CHECK(model == NULL && err.code == LNL_ERR_IO && strstr(err.message, missing.p) != NULL);
  printf("%-44s %-22s %s\n", "nonexistent path", lnl_status_name(err.code), err.message);
  free(missing.p);

  sbuf dir = {0};
  sb_printf(&dir, "%s", orig.path);
  char *slash = strrchr(dir.p, '/');
  if (!slash)
    strcpy(dir.p, ".");
  else
    slash[slash == dir.p] = '\0';
  cases++;
  lnl_status s = lnl_model_open(dir.p, &model, &err);
  CHECK_MSG(s != LNL_OK && model == NULL, "directory %s opened", dir.p);
  CHECK(s == LNL_ERR_IO && strstr(err.message, "not a regular file") != NULL);
  printf("%-44s %-22s %s\n", "directory", lnl_status_name(s), err.message);
  free(dir.p);

  /* bad files on disk: the message is prefixed with the path */
  const struct {
    const char *what;
    size_t size;
    const char *needle;
  } files[] = {
      {"empty file", 0, "too short"},
      {"7-byte file", 7, "too short"},
      {"file cut in the header", 1000, "beyond the end"},
      {"file cut in the data", orig.size - 4, "outside"},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char *path = temp_file(orig.file, files[i].size);
    cases++;
    s = lnl_model_open(path, &model, &err);
    CHECK_MSG(s == LNL_ERR_FORMAT && model == NULL, "%s: %s", files[i].what, err.message);
    CHECK_MSG(strncmp(err.message, path, strlen(path)) == 0 &&
                  strstr(err.message, files[i].needle) != NULL,
              "%s: message '%s'", files[i].what, err.message);
    printf("%-44s %-22s %s\n", files[i].what, lnl_status_name(s), err.message);
    unlink(path);
    free(path);
  }

  /* bad arguments */
  CHECK(lnl_model_open(NULL, &model, &err) == LNL_ERR_ARGUMENT);
  CHECK(lnl_model_open(orig.path, NULL, &err) == LNL_ERR_ARGUMENT);
  CHECK(lnl_model_open_memory(orig.file, orig.size, NULL, &err) == LNL_ERR_ARGUMENT);
  CHECK(lnl_model_open_memory(orig.file, 7, &model, NULL) == LNL_ERR_FORMAT && model == NULL);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s RANDOM.safetensors\n", argv[0]);
    return 2;
  }
  orig.path = argv[1];
  orig.file = read_file(argv[1], &orig.size);
  if (!orig.file || orig.size < 8) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  lnl_error err = {0};
  if (lnl_safetensors_parse(orig.file, orig.size, &orig.st, &err) != LNL_OK) {
    fprintf(stderr, "%s: %s\n", argv[1], err.message);
    return 2;
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | orig.file[i];
  orig.header = (char *)copy_bytes(orig.file + 8, (size_t)header_len + 1);
  orig.header[header_len] = '\0';
  orig.data = orig.file + 8 + header_len;
  orig.data_len = orig.size - 8 - (size_t)header_len;

  check_lengths();
  check_json();
  check_entries();
  check_metadata();
  check_views();
  check_model_header();
  check_model_tensors();
  check_open();
  check_recipe_crop();

  lnl_safetensors_free(&orig.st);
  free(orig.header);
  free(orig.file);
  printf("%d cases, %d failed checks\n", cases, check_failures);
  return check_failures != 0;
}
