/* Face detection. Two kinds of detector file, told apart by the program's "format": a
 * single-shot anchor detector (BlazeFace layout, "lnlfer-blazeface") run on the whole
 * image and on tiles of a half-size view, with score-weighted blending of overlapping
 * detections (MediaPipe's "weighted NMS"), here; and YuNet ("lnlfer-yunet"), run at the
 * image's own size, in lnl_yunet.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_detector.h"
#include "lnl_error.h"
#include "lnl_graph.h"
#include "lnl_mapfile.h"
#include "lnl_resample.h"
#include "lnl_yunet.h"
#include "lnlfer.h"

#define DETECTOR_KEY "lnl.detector"
#define MAX_HEADS 8
#define DEFAULT_MAX_SIDE 4096
/* Anchors of one pass, over all heads (BlazeFace: 896), and candidates of one image: with
 * a threshold of 0 every anchor of every pass is one, and the weighted NMS costs their
 * number times the clusters' (the shipped detector stays below both). */
#define MAX_ANCHORS 32768
#define MAX_CANDIDATES 65536
/* A box value (offset or size, network pixels) beyond this many input sides is no face. */
#define MAX_BOX_SIDES 4.0f

typedef struct head {
  int scores, boxes; /* graph values */
  int grid, anchors;
} head;

struct lnl_detector {
  lnl_yunet *yunet; /* a YuNet file: everything else is unused */
  lnl_graph graph;
  int input_size;
  float input_scale, input_offset;
  head heads[MAX_HEADS];
  int num_heads;
  int box_values, num_landmarks;
  float score_threshold, nms_iou;
  float correct_scale_h, correct_shift_y;
  float tile_scale; /* image pixels per network pixel on the tile pass */
  lnl_metadata_entry *metadata;
  int metadata_count;
};

static int get_number(const cJSON *obj, const char *key, double lo, double hi, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) return 0;
  *out = v->valuedouble;
  return 1;
}

static lnl_status parse_heads(lnl_detector *d, const cJSON *heads, lnl_error *err) {
  int n = cJSON_IsArray(heads) ? cJSON_GetArraySize(heads) : 0;
  if (n < 1 || n > MAX_HEADS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: \"heads\" must list 1 to %d heads", MAX_HEADS);
  int anchors_total = 0;
  for (int i = 0; i < n; i++) {
    const cJSON *h = cJSON_GetArrayItem(heads, i);
    double sv, bv, grid, anchors;
    int nv = d->graph.num_ops;
    if (!get_number(h, "scores", 1, nv, &sv) || !get_number(h, "boxes", 1, nv, &bv) ||
        !get_number(h, "grid", 1, 1024, &grid) || !get_number(h, "anchors", 1, 64, &anchors))
      return lnl_fail(err, LNL_ERR_MODEL, "detector head %d: bad scores/boxes/grid/anchors", i);
    head *hd = &d->heads[i];
    *hd = (head){(int)sv, (int)bv, (int)grid, (int)anchors};
    lnl_shape s = d->graph.shapes[hd->scores], b = d->graph.shapes[hd->boxes];
    if (s.c != hd->anchors || s.h != hd->grid || s.w != hd->grid ||
        b.c != hd->anchors * d->box_values || b.h != hd->grid || b.w != hd->grid)
      return lnl_fail(err, LNL_ERR_MODEL, "detector head %d: outputs do not match its grid", i);
    lnl_graph_keep(&d->graph, hd->scores);
    lnl_graph_keep(&d->graph, hd->boxes);
    anchors_total += hd->grid * hd->grid * hd->anchors;
  }
  if (anchors_total > MAX_ANCHORS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: its heads have %d anchors (at most %d)",
                    anchors_total, MAX_ANCHORS);
  d->num_heads = n;
  size_t peak = lnl_graph_peak_floats(&d->graph);
  if (peak > LNL_GRAPH_MAX_PEAK_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: one pass would hold %zu MB at once; the engine's limit is %d MB",
                    peak * sizeof(float) >> 20,
                    (int)(LNL_GRAPH_MAX_PEAK_FLOATS * sizeof(float) >> 20));
  return LNL_OK;
}

static lnl_status parse_detector(lnl_detector *d, const cJSON *j, const lnl_safetensors *st,
                                 lnl_error *err) {
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(j, "format");
  double version, size, scale, offset, values, marks, thr, iou;
  if (!cJSON_IsString(format) || strcmp(format->valuestring, "lnlfer-blazeface") != 0)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: 'format' is not \"lnlfer-blazeface\"");
  if (!get_number(j, "version", 1, 1, &version))
    return lnl_fail(err, LNL_ERR_MODEL, "detector: unsupported version");
  if (!get_number(j, "input_size", 16, 2048, &size) ||
      !get_number(j, "input_scale", -1e3, 1e3, &scale) ||
      !get_number(j, "input_offset", -1e3, 1e3, &offset) ||
      !get_number(j, "landmarks", 0, LNL_MAX_LANDMARKS, &marks) ||
      !get_number(j, "box_values", 4, 4 + 2 * LNL_MAX_LANDMARKS, &values) ||
      !get_number(j, "score_threshold", 0, 1, &thr) || !get_number(j, "nms_iou", 0, 1, &iou))
    return lnl_fail(err, LNL_ERR_MODEL, "detector: missing or invalid settings");
  if (values != 4 + 2 * marks)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: box_values must be 4 + 2 x landmarks");
  d->input_size = (int)size;
  d->input_scale = (float)scale;
  d->input_offset = (float)offset;
  d->box_values = (int)values;
  d->num_landmarks = (int)marks;
  d->score_threshold = (float)thr;
  d->nms_iou = (float)iou;
  d->correct_scale_h = 1.0f;
  d->tile_scale = 2.0f;
  const cJSON *corr = cJSON_GetObjectItemCaseSensitive(j, "box_correction");
  double sh, dy;
  if (corr && get_number(corr, "scale_h", 0.5, 2.0, &sh) &&
      get_number(corr, "shift_y", -1, 1, &dy)) {
    d->correct_scale_h = (float)sh;
    d->correct_shift_y = (float)dy;
  }
  lnl_shape in = {3, d->input_size, d->input_size};
  lnl_status s = lnl_graph_load(&d->graph, cJSON_GetObjectItemCaseSensitive(j, "ops"), in, st, err);
  return s ? s : parse_heads(d, cJSON_GetObjectItemCaseSensitive(j, "heads"), err);
}

static int is_yunet(const cJSON *j) {
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(j, "format");
  return cJSON_IsString(format) && strcmp(format->valuestring, "lnlfer-yunet") == 0;
}

lnl_status lnl_detector_open_memory(const void *data, size_t size, lnl_detector **out,
                                    lnl_error *err) {
  if (!out) return lnl_fail(err, LNL_ERR_ARGUMENT, "no place to return the detector");
  *out = NULL;
  lnl_safetensors st;
  lnl_status s = lnl_safetensors_parse(data, size, &st, err);
  if (s) return s;
  lnl_detector *d = calloc(1, sizeof *d);
  const char *text = lnl_safetensors_metadata(&st, DETECTOR_KEY);
  cJSON *j = text ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
  if (!d)
    s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory opening the detector");
  else if (!text)
    s = lnl_fail(err, LNL_ERR_MODEL, "no '%s' metadata: not a detector file", DETECTOR_KEY);
  else if (!cJSON_IsObject(j))
    s = lnl_fail(err, LNL_ERR_MODEL, "the '%s' metadata is not a JSON object", DETECTOR_KEY);
  else if (is_yunet(j))
    s = lnl_yunet_load(j, &st, &d->yunet, err);
  else
    s = parse_detector(d, j, &st, err);
  cJSON_Delete(j);
  if (!s) {
    d->metadata = st.metadata;
    d->metadata_count = st.metadata_count;
    st.metadata = NULL;
    st.metadata_count = 0;
    lnl_parallel_init();
    *out = d;
  } else if (d) {
    lnl_yunet_free(d->yunet);
    lnl_graph_free(&d->graph);
    free(d);
  }
  lnl_safetensors_free(&st);
  return s;
}

static lnl_status parse_lnl_detector(const void *data, size_t size, void *out, lnl_error *err) {
  return lnl_detector_open_memory(data, size, out, err);
}

lnl_status lnl_detector_open(const char *path, lnl_detector **out, lnl_error *err) {
  if (out) *out = NULL;
  return lnl_open_mapped(path, parse_lnl_detector, out, err);
}

void lnl_detector_close(lnl_detector *d) {
  if (!d) return;
  lnl_yunet_free(d->yunet);
  lnl_graph_free(&d->graph);
  for (int i = 0; i < d->metadata_count; i++) {
    free(d->metadata[i].key);
    free(d->metadata[i].value);
  }
  free(d->metadata);
  free(d);
}

uint64_t lnl_detector_macs(const lnl_detector *d) {
  return d->yunet ? lnl_yunet_macs(d->yunet) : d->graph.macs;
}

const lnl_yunet *lnl_detector_yunet(const lnl_detector *d) { return d ? d->yunet : NULL; }

const char *lnl_detector_metadata(const lnl_detector *d, const char *key) {
  for (int i = 0; key && i < d->metadata_count; i++)
    if (strcmp(d->metadata[i].key, key) == 0) return d->metadata[i].value;
  return NULL;
}

void lnl_detect_options_init(const lnl_detector *d, lnl_detect_options *opt) {
  float thr = !d ? 0.5f : d->yunet ? lnl_yunet_score_threshold(d->yunet) : d->score_threshold;
  float nms = !d ? 0.3f : d->yunet ? lnl_yunet_nms_iou(d->yunet) : d->nms_iou;
  *opt = (lnl_detect_options){thr, nms, 0, 0, DEFAULT_MAX_SIDE};
}

/* ---- running ------------------------------------------------------------ */

/* A raw detection and which pass made it: a tile, the whole-image pass, or the
 * whole-image pass below the threshold (evidence for the consistency check only). */
enum { TILE = 0, WHOLE = 1, EVIDENCE = 2 };

typedef struct candidate {
  lnl_face face;
  int whole;
} candidate;

typedef struct face_list {
  candidate *items;
  int count, cap;
} face_list;

static int push_face(face_list *l, const lnl_face *f, int whole) {
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    candidate *p = realloc(l->items, sizeof *p * (size_t)cap);
    if (!p) return 0;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->count++] = (candidate){*f, whole};
  return 1;
}

static float sigmoid(float x) {
  if (x < -100.0f) x = -100.0f;
  if (x > 100.0f) x = 100.0f;
  return 1.0f / (1.0f + expf(-x));
}

/* Whether an anchor's box values (offsets, sizes and landmark offsets, `plane` apart) are
 * finite and within MAX_BOX_SIDES input sides: weights can make a network put out any
 * number, and only sane boxes are passed on (so every box and landmark lnl_detect
 * returns is finite and not absurdly far from the image). */
static int box_values_sane(const float *b, size_t plane, int count, int side) {
  float limit = MAX_BOX_SIDES * (float)side;
  for (int k = 0; k < count; k++)
    if (!(fabsf(b[k * plane]) <= limit)) return 0;
  return 1;
}

/* Decodes one head's anchors above the threshold into image coordinates. */
static int decode_head(const lnl_detector *d, const head *h, float *const *values,
                       const lnl_window *win, int whole, float threshold, face_list *out) {
  const float *scores = values[h->scores], *boxes = values[h->boxes];
  float evidence = whole ? lnl_detect_evidence_threshold(threshold) : threshold;
  int G = h->grid, S = d->input_size;
  size_t plane = (size_t)G * G;
  for (int y = 0; y < G; y++) {
    for (int x = 0; x < G; x++) {
      for (int a = 0; a < h->anchors; a++) {
        float score = sigmoid(scores[a * plane + (size_t)y * G + x]);
        if (!(score >= evidence)) continue; /* NaN too */
        const float *b = boxes + (size_t)a * d->box_values * plane + (size_t)y * G + x;
        if (!box_values_sane(b, plane, d->box_values, S)) continue;
        /* anchor centre and offsets in network-input pixels */
        float ax = (x + 0.5f) * S / G, ay = (y + 0.5f) * S / G;
        float cx = ax + b[0], cy = ay + b[plane], w = b[2 * plane], hh = b[3 * plane];
        if (!(w > 0.0f && hh > 0.0f)) continue; /* a degenerate box, no face */
        lnl_face f = {0};
        f.score = score;
        f.box = (lnl_rect){(float)(win->x0 + (cx - w / 2) * win->scale_x),
                           (float)(win->y0 + (cy - hh / 2) * win->scale_y),
                           (float)(w * win->scale_x), (float)(hh * win->scale_y)};
        f.num_landmarks = d->num_landmarks;
        for (int k = 0; k < d->num_landmarks; k++) {
          f.landmarks[k][0] = (float)(win->x0 + (ax + b[(4 + 2 * k) * plane]) * win->scale_x);
          f.landmarks[k][1] = (float)(win->y0 + (ay + b[(5 + 2 * k) * plane]) * win->scale_y);
        }
        if (!push_face(out, &f, !whole ? TILE : score >= threshold ? WHOLE : EVIDENCE)) return 0;
      }
    }
  }
  return 1;
}

static int by_score(const void *a, const void *b);

/* Keeps the `keep` most confident candidates when there are more than `above`. */
static void prune(face_list *l, int above, int keep) {
  if (l->count <= above) return;
  qsort(l->items, (size_t)l->count, sizeof *l->items, by_score);
  l->count = keep;
}

/* Runs the network on one window of the image and collects its detections. */
static lnl_status detect_window(const lnl_detector *d, const lnl_image *img, const lnl_window *win,
                                int whole, float threshold, lnl_parallel *par, float *input,
                                float **values, face_list *out, lnl_error *err) {
  lnl_status s = lnl_resample_par(img, win, 0, input, par, err);
  if (s) return s;
  size_t n = 3 * (size_t)d->input_size * d->input_size;
  for (size_t i = 0; i < n; i++) input[i] = input[i] * d->input_scale + d->input_offset;
  if ((s = lnl_graph_run(&d->graph, input, values, par, err))) return s;
  int ok = 1;
  for (int i = 0; i < d->num_heads && ok; i++)
    ok = decode_head(d, &d->heads[i], values, win, whole, threshold, out);
  lnl_graph_release(&d->graph, values);
  prune(out, 2 * MAX_CANDIDATES, MAX_CANDIDATES); /* bounded memory over many passes */
  return ok ? LNL_OK : lnl_fail(err, LNL_ERR_MEMORY, "out of memory collecting detections");
}

static float iou(const lnl_rect *a, const lnl_rect *b) {
  float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
  float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
  float inter = fmaxf(0.0f, x1 - x0) * fmaxf(0.0f, y1 - y0);
  float uni = a->w * a->h + b->w * b->h - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

static int by_score(const void *a, const void *b) {
  float x = ((const candidate *)a)->face.score, y = ((const candidate *)b)->face.score;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The consistency check between the passes. The tiles see the image more closely than
 * the whole-image pass; on faces that are not small in the whole image they see too little
 * of the surroundings and fire on animal faces, on clothes and on parts of big faces. The
 * whole-image pass sees such a face whole and must agree, the more so the bigger the face:
 * a cluster that the tiles found (best tile score >= threshold) on a face px >= 16 network
 * pixels wide in the whole-image pass is kept when
 *     CHECK_TILE * tile + CHECK_WHOLE * whole + CHECK_LOG2PX * log2(px) + CHECK_BIAS >= 0,
 * tile and whole being the cluster's best tile and whole-image scores in logits above the
 * threshold's (whole counts evidence below the threshold, and is no lower than
 * EVIDENCE_MARGIN). So the two passes' margins, the whole-image one weighing 1.5 times,
 * must together reach 1.2 log2(px) - 6.25: -1.45 logits at 16 px, -0.25 at 32, +0.95 at
 * 64, +2.15 at 128. Clusters without a tile detection, faces under 16 px and images
 * without tiles are left as the passes found them. The rule is monotonic: more evidence
 * from either pass, or a lower threshold, never drops a cluster.
 * Where the coefficients come from: tests/detect_trace dumps every cluster with these
 * features; tools/detector/fit_consistency.py labels the clusters of photos-dlib (dogs.jpg:
 * all false), the WIDER FACE subset and align_eval.py's canvases and scores a rule; a
 * logistic fit dropped too many pasted faces, so these are the round values, chosen on that
 * data, that drop all of dogs.jpg's dogs (whole-image scores 0.45 to 0.53, tiles 0.50 to
 * 0.81, 35 to 96 px) and keep every face of photos-dlib, 297/300 FER+ canvas faces, all 292
 * RAF-DB ones the passes find on the original crops and 287 of the 292 on the re-cropped ones. The
 * margin between the dogs and the hardest pasted faces is thin (about 0.1 logit): refit
 * (fit_consistency.py --coef) after any change to the passes. */
#define EVIDENCE_MARGIN -4.0 /* logits below the threshold */
#define CHECK_MIN_PX 16.0
#define CHECK_TILE 1.0
#define CHECK_WHOLE 1.5
#define CHECK_LOG2PX -1.2
#define CHECK_BIAS 6.25

/* log(p / (1 - p)), p clamped to [1e-6, 1 - 1e-6] */
static double logit(double p) {
  p = p < 1e-6 ? 1e-6 : p > 1.0 - 1e-6 ? 1.0 - 1e-6 : p;
  return log(p / (1.0 - p));
}

float lnl_detect_evidence_threshold(float threshold) {
  if (threshold <= 0.0f || threshold >= 1.0f) return threshold;
  return (float)(1.0 / (1.0 + exp(-(logit(threshold) + EVIDENCE_MARGIN))));
}

int lnl_detect_consistent(const lnl_detect_cluster *c, float threshold) {
  if (!c->tiled || !(c->whole_px >= CHECK_MIN_PX) || !(c->tile_best >= threshold)) return 1;
  if (!(threshold > 0.0f)) return 1; /* everything asked for */
  double t = logit(threshold);
  double whole = c->whole_best > 0.0f ? logit(c->whole_best) - t : EVIDENCE_MARGIN;
  if (whole < EVIDENCE_MARGIN) whole = EVIDENCE_MARGIN;
  double z = CHECK_TILE * (logit(c->tile_best) - t) + CHECK_WHOLE * whole +
             CHECK_LOG2PX * log2(c->whole_px) + CHECK_BIAS;
  return z >= 0.0;
}

/* Weighted NMS: each cluster of detections overlapping the most confident remaining
 * one by more than `thr` becomes their score-weighted average, with the top score.
 * Evidence takes part in no blend and starts no cluster. Writes the clusters to `out`
 * (room for l->count) and returns how many, or -1 when out of memory. */
static int blend_overlaps(const face_list *l, float thr, int tiled, double whole_scale,
                          lnl_detect_cluster *out) {
  if (l->count == 0) return 0; /* qsort and calloc want a real array */
  qsort(l->items, (size_t)l->count, sizeof *l->items, by_score);
  char *used = calloc((size_t)l->count + 1, 1);
  if (!used) return -1;
  int kept = 0;
  for (int i = 0; i < l->count; i++) {
    if (used[i] || l->items[i].whole == EVIDENCE) continue;
    lnl_face top = l->items[i].face;
    /* in double: with a threshold of 0, scores can be as small as 1e-44 */
    double total = 0.0, box[4] = {0, 0, 0, 0}, marks[LNL_MAX_LANDMARKS][2] = {{0}};
    float tile_best = 0.0f, whole_best = 0.0f;
    int tile_n = 0, whole_n = 0;
    for (int j = i; j < l->count; j++) {
      if (used[j] || iou(&top.box, &l->items[j].face.box) < thr) continue;
      const lnl_face *f = &l->items[j].face;
      used[j] = 1;
      float *best = l->items[j].whole ? &whole_best : &tile_best;
      if (f->score > *best) *best = f->score;
      ++*(l->items[j].whole ? &whole_n : &tile_n);
      if (l->items[j].whole == EVIDENCE) continue;
      double w = f->score;
      total += w;
      box[0] += w * f->box.x, box[1] += w * f->box.y;
      box[2] += w * f->box.w, box[3] += w * f->box.h;
      for (int k = 0; k < top.num_landmarks; k++) {
        marks[k][0] += w * f->landmarks[k][0];
        marks[k][1] += w * f->landmarks[k][1];
      }
    }
    lnl_detect_cluster *c = &out[kept++];
    *c = (lnl_detect_cluster){.face = top,
                              .tile_best = tile_best,
                              .whole_best = whole_best,
                              .whole_px = (float)(top.box.w / whole_scale),
                              .tile_n = tile_n,
                              .whole_n = whole_n,
                              .tiled = tiled};
    if (!(total > 0.0)) continue; /* every score 0 (sigmoid underflow): the top box as it is */
    c->face.box = (lnl_rect){(float)(box[0] / total), (float)(box[1] / total),
                             (float)(box[2] / total), (float)(box[3] / total)};
    for (int k = 0; k < top.num_landmarks; k++) {
      c->face.landmarks[k][0] = (float)(marks[k][0] / total);
      c->face.landmarks[k][1] = (float)(marks[k][1] / total);
    }
  }
  free(used);
  return kept;
}

/* Tiles of `side` image pixels covering [0, n) with 25 % overlap. */
static int tile_count(double n, double side) {
  if (n <= side) return 1;
  return (int)ceil((n - side) / (side * 0.75)) + 1;
}

static double tile_origin(int i, int count, double n, double side) {
  if (count == 1) return (n - side) / 2;
  return i * (n - side) / (count - 1);
}

/* The windows the detector looks at: the whole image letterboxed to a square, then
 * overlapping tiles of a finer view (none when one tile would hold it all). The tiles see
 * the image at tile_scale image pixels per network pixel, or, on images too small for
 * that to be finer than the whole-image pass, at TILE_ZOOM times the whole-image pass's
 * resolution but never enlarged (so small faces in small photos get a second look).
 * Very large images are looked at as if downscaled to opt->max_side. */
#define TILE_ZOOM 1.5

typedef struct pass_plan {
  double side, scale, tile;
  int nx, ny;
} pass_plan;

static pass_plan plan_passes(const lnl_detector *d, int width, int height,
                             const lnl_detect_options *opt) {
  pass_plan p;
  double W = width, H = height;
  p.side = W > H ? W : H;
  double eff = opt->max_side > 0 && p.side > opt->max_side ? opt->max_side / p.side : 1.0;
  double t = p.side * eff / d->input_size / TILE_ZOOM; /* in the downscaled view */
  if (t > d->tile_scale) t = d->tile_scale;
  if (t < 1.0) t = 1.0;
  p.scale = t / eff;
  p.tile = d->input_size * p.scale;
  p.nx = p.tile < p.side ? tile_count(W, p.tile) : 0;
  p.ny = p.tile < p.side ? tile_count(H, p.tile) : 0;
  return p;
}

int lnl_detect_passes(const lnl_detector *d, int width, int height, const lnl_detect_options *opt) {
  lnl_detect_options defaults;
  lnl_detect_options_init(d, &defaults);
  if (d->yunet) {
    lnl_yunet_plan_pass plan[LNL_YUNET_MAX_PASSES];
    return lnl_yunet_plan(width, height, opt ? opt : &defaults, plan);
  }
  pass_plan p = plan_passes(d, width, height, opt ? opt : &defaults);
  return 1 + p.nx * p.ny;
}

uint64_t lnl_detect_macs(const lnl_detector *d, int width, int height,
                         const lnl_detect_options *opt) {
  lnl_detect_options defaults;
  lnl_detect_options_init(d, &defaults);
  if (!opt) opt = &defaults;
  if (width < 1 || height < 1) return 0;
  if (d->yunet) {
    lnl_yunet_plan_pass plan[LNL_YUNET_MAX_PASSES];
    int passes = lnl_yunet_plan(width, height, opt, plan);
    uint64_t macs = 0;
    for (int i = 0; i < passes; i++)
      macs += lnl_yunet_pass_macs(d->yunet, width, height, plan[i].scale);
    return macs;
  }
  return (uint64_t)lnl_detect_passes(d, width, height, opt) * d->graph.macs;
}

static int pass_allowed(const lnl_detect_hook *hook, int done, int total) {
  return !hook || !hook->pass || hook->pass(hook->user, done, total) == 0;
}

static lnl_status run_passes(const lnl_detector *d, const lnl_image *img,
                             const lnl_detect_options *opt, lnl_parallel *par,
                             const lnl_detect_hook *hook, face_list *found, lnl_error *err) {
  int S = d->input_size;
  double W = img->width, H = img->height;
  pass_plan p = plan_passes(d, img->width, img->height, opt);
  int total = 1 + p.nx * p.ny, done = 0;
  float *input = malloc(sizeof(float) * 3 * (size_t)S * S);
  float **values = calloc((size_t)d->graph.num_ops + 1, sizeof *values);
  lnl_status s =
      input && values ? LNL_OK : lnl_fail(err, LNL_ERR_MEMORY, "out of memory detecting faces");
  if (!s && !pass_allowed(hook, done, total))
    s = lnl_fail(err, LNL_ERR_CANCELLED, "the face detection was cancelled");
  if (!s) {
    lnl_window win = {(W - p.side) / 2, (H - p.side) / 2, p.side / S, p.side / S, S, S};
    s = detect_window(d, img, &win, 1, opt->score_threshold, par, input, values, found, err);
    done++;
  }
  for (int ty = 0; ty < p.ny && !s; ty++)
    for (int tx = 0; tx < p.nx && !s; tx++) {
      if (!pass_allowed(hook, done, total)) {
        s = lnl_fail(err, LNL_ERR_CANCELLED, "the face detection was cancelled");
        break;
      }
      lnl_window win = {tile_origin(tx, p.nx, W, p.tile),
                        tile_origin(ty, p.ny, H, p.tile),
                        p.scale,
                        p.scale,
                        S,
                        S};
      s = detect_window(d, img, &win, 0, opt->score_threshold, par, input, values, found, err);
      done++;
    }
  free(input);
  free(values);
  prune(found, MAX_CANDIDATES, MAX_CANDIDATES); /* bounded NMS work */
  return s;
}

/* WIDER-style boxes are taller and sit higher than the detector's. */
static void correct_box(const lnl_detector *d, lnl_face *f) {
  float h = f->box.h * d->correct_scale_h;
  float cy = f->box.y + f->box.h / 2 + d->correct_shift_y * f->box.h;
  f->box.y = cy - h / 2;
  f->box.h = h;
}

/* A YuNet detector's faces as clusters of their own (no tiles, each kept). */
static lnl_status yunet_clusters(const lnl_detector *d, const lnl_image *img,
                                 const lnl_detect_options *opt, lnl_parallel *par,
                                 const lnl_detect_hook *hook, lnl_detect_cluster **clusters,
                                 int *count, lnl_error *err) {
  lnl_detect_options all = *opt; /* lnl_detect_on applies these two */
  all.min_face_size = 0;
  all.max_faces = 0;
  lnl_face *faces = NULL;
  int n = 0;
  lnl_status s = lnl_yunet_detect(d->yunet, img, &all, par, hook, &faces, &n, err);
  if (s || n == 0) return s;
  lnl_detect_cluster *out = malloc(sizeof *out * (size_t)n);
  if (!out) {
    free(faces);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory merging detections");
  }
  for (int i = 0; i < n; i++)
    out[i] = (lnl_detect_cluster){
        .face = faces[i], .whole_best = faces[i].score, .whole_n = 1, .kept = 1};
  free(faces);
  *clusters = out;
  *count = n;
  return LNL_OK;
}

static lnl_status detect_clusters(const lnl_detector *d, const lnl_image *img,
                                  const lnl_detect_options *opt, lnl_parallel *par,
                                  const lnl_detect_hook *hook, lnl_detect_cluster **clusters,
                                  int *count, lnl_error *err) {
  if (!d || !clusters || !count)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_detect: bad arguments");
  *clusters = NULL;
  *count = 0;
  lnl_detect_options defaults;
  lnl_detect_options_init(d, &defaults);
  if (!opt) opt = &defaults;
  if (!(opt->score_threshold >= 0.0f && opt->score_threshold <= 1.0f) ||
      !(opt->nms_iou > 0.0f && opt->nms_iou <= 1.0f) || opt->min_face_size < 0 ||
      opt->max_faces < 0)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "detection options out of range");
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  if (d->yunet) return yunet_clusters(d, img, opt, par, hook, clusters, count, err);
  face_list found = {0};
  s = run_passes(d, img, opt, par, hook, &found, err);
  lnl_detect_cluster *out = NULL;
  int n = 0;
  if (!s && found.count > 0) {
    pass_plan p = plan_passes(d, img->width, img->height, opt);
    out = malloc(sizeof *out * (size_t)found.count);
    n = out ? blend_overlaps(&found, opt->nms_iou, p.nx > 0, p.side / d->input_size, out) : -1;
    if (n < 0) s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory merging detections");
  }
  free(found.items);
  if (s || n == 0) {
    free(out);
    return s;
  }
  for (int i = 0; i < n; i++) {
    correct_box(d, &out[i].face);
    out[i].kept = lnl_detect_consistent(&out[i], opt->score_threshold);
  }
  *clusters = out;
  *count = n;
  return LNL_OK;
}

lnl_status lnl_detect_clusters(const lnl_detector *d, const lnl_image *img,
                               const lnl_detect_options *opt, lnl_detect_cluster **clusters,
                               int *count, lnl_error *err) {
  lnl_parallel one = {.threads = 1};
  return detect_clusters(d, img, opt, &one, NULL, clusters, count, err);
}

lnl_status lnl_detect_on(const lnl_detector *d, const lnl_image *img, const lnl_detect_options *opt,
                         lnl_parallel *par, const lnl_detect_hook *hook, lnl_face **faces,
                         int *count, lnl_error *err) {
  if (!d || !faces || !count) return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_detect: bad arguments");
  *faces = NULL;
  *count = 0;
  lnl_detect_options defaults;
  lnl_detect_options_init(d, &defaults);
  if (!opt) opt = &defaults;
  lnl_detect_cluster *clusters = NULL;
  int n = 0;
  lnl_status s = detect_clusters(d, img, opt, par, hook, &clusters, &n, err);
  if (s || n <= 0) return s; /* (n < 0 never: said for gcc -O3's allocation-size check) */
  lnl_face *out = malloc(sizeof *out * (size_t)n);
  if (!out) {
    free(clusters);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory merging detections");
  }
  int kept = 0;
  for (int i = 0; i < n; i++) {
    const lnl_face *f = &clusters[i].face;
    if (!clusters[i].kept || f->box.w < (float)opt->min_face_size) continue;
    if (opt->max_faces && kept == opt->max_faces) break;
    out[kept++] = *f;
  }
  free(clusters);
  if (kept == 0) {
    free(out);
    out = NULL;
  }
  *faces = out;
  *count = kept;
  return LNL_OK;
}

lnl_status lnl_detect(const lnl_detector *d, const lnl_image *img, const lnl_detect_options *opt,
                      lnl_face **faces, int *count, lnl_error *err) {
  lnl_parallel one = {.threads = 1};
  return lnl_detect_on(d, img, opt, &one, NULL, faces, count, err);
}

lnl_status lnl_detector_run_raw(const lnl_detector *d, const float *input, float *raw,
                                size_t raw_len, lnl_error *err) {
  if (d->yunet) {
    lnl_parallel one = {.threads = 1};
    int side = lnl_yunet_reference_side(d->yunet);
    return lnl_yunet_run_heads(d->yunet, input, side, side, raw, raw_len, &one, err);
  }
  size_t need = 0;
  for (int i = 0; i < d->num_heads; i++)
    need += (size_t)d->heads[i].grid * d->heads[i].grid * d->heads[i].anchors * (1 + d->box_values);
  if (raw_len < need)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "raw output buffer holds %zu floats, %zu needed",
                    raw_len, need);
  float **values = calloc((size_t)d->graph.num_ops + 1, sizeof *values);
  if (!values) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
  lnl_parallel par = {.threads = 1};
  lnl_status s = lnl_graph_run(&d->graph, input, values, &par, err);
  if (!s) {
    for (int i = 0; i < d->num_heads; i++) {
      const head *h = &d->heads[i];
      size_t ns = (size_t)h->grid * h->grid * h->anchors;
      memcpy(raw, values[h->scores], ns * sizeof(float));
      raw += ns;
      memcpy(raw, values[h->boxes], ns * d->box_values * sizeof(float));
      raw += ns * d->box_values;
    }
    lnl_graph_release(&d->graph, values);
  }
  free(values);
  return s;
}
