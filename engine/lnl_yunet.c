#include "lnl_yunet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_error.h"
#include "lnl_graph.h"
#include "lnl_resample.h"

#define MAX_HEADS 8
#define HEAD_OUTPUTS 4 /* cls, obj, bbox, kps */
#define REFERENCE_MULTIPLES 10
/* Candidates of one image before NMS (a threshold of 0 makes every cell one: 1920 x 1088
 * has about 43 k cells); the NMS costs their number times the faces kept. */
#define MAX_CANDIDATES 65536
/* A box offset or landmark (grid cells) beyond this many input sides is no face. */
#define MAX_BOX_SIDES 4.0

typedef struct yunet_head {
  int stride;
  int value[HEAD_OUTPUTS]; /* graph values of cls, obj, bbox, kps */
} yunet_head;

struct lnl_yunet {
  lnl_graph graph;
  int bgr, multiple, landmarks;
  float input_scale, input_offset;
  float score_threshold, nms_iou;
  yunet_head heads[MAX_HEADS];
  int num_heads;
};

static int get_number(const cJSON *obj, const char *key, double lo, double hi, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) return 0;
  *out = v->valuedouble;
  return 1;
}

static int get_int(const cJSON *obj, const char *key, int lo, int hi, int *out) {
  double v;
  if (!get_number(obj, key, lo, hi, &v) || floor(v) != v) return 0;
  *out = (int)v;
  return 1;
}

/* Channels of each head output: 1, 1, 4 and 2 per landmark. */
static int head_channels(const lnl_yunet *y, int k) {
  static const int fixed[HEAD_OUTPUTS] = {1, 1, 4, 0};
  return k == 3 ? 2 * y->landmarks : fixed[k];
}

/* Whether the head outputs of a plan (or the load-time shapes) fit a pad_w x pad_h input. */
static int heads_match(const lnl_yunet *y, const lnl_shape *shapes, int pad_w, int pad_h) {
  for (int i = 0; i < y->num_heads; i++)
    for (int k = 0; k < HEAD_OUTPUTS; k++) {
      lnl_shape s = shapes[y->heads[i].value[k]];
      int st = y->heads[i].stride;
      if (s.c != head_channels(y, k) || s.h != pad_h / st || s.w != pad_w / st) return 0;
    }
  return 1;
}

static lnl_status parse_heads(lnl_yunet *y, const cJSON *heads, lnl_error *err) {
  static const char *const names[HEAD_OUTPUTS] = {"cls", "obj", "bbox", "kps"};
  int n = cJSON_IsArray(heads) ? cJSON_GetArraySize(heads) : 0;
  if (n < 1 || n > MAX_HEADS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: \"heads\" must list 1 to %d heads", MAX_HEADS);
  for (int i = 0; i < n; i++) {
    const cJSON *h = cJSON_GetArrayItem(heads, i);
    yunet_head *hd = &y->heads[i];
    int ok = get_int(h, "stride", 1, y->multiple, &hd->stride) && y->multiple % hd->stride == 0;
    for (int k = 0; ok && k < HEAD_OUTPUTS; k++)
      ok = get_int(h, names[k], 1, y->graph.num_ops, &hd->value[k]);
    if (!ok)
      return lnl_fail(err, LNL_ERR_MODEL,
                      "detector head %d: bad stride (a divisor of size_multiple) or "
                      "cls/obj/bbox/kps values",
                      i);
  }
  y->num_heads = n;
  int side = REFERENCE_MULTIPLES * y->multiple;
  if (!heads_match(y, y->graph.shapes, side, side))
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: the head outputs do not match their strides and channels (1, 1, 4 "
                    "and 2 per landmark)");
  for (int i = 0; i < n; i++)
    for (int k = 0; k < HEAD_OUTPUTS; k++) lnl_graph_keep(&y->graph, y->heads[i].value[k]);
  size_t peak = lnl_graph_peak_floats(&y->graph);
  if (peak > LNL_GRAPH_MAX_PEAK_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: one pass would hold %zu MB at once; the engine's limit is %d MB",
                    peak * sizeof(float) >> 20,
                    (int)(LNL_GRAPH_MAX_PEAK_FLOATS * sizeof(float) >> 20));
  return LNL_OK;
}

static lnl_status parse(lnl_yunet *y, const cJSON *j, const lnl_safetensors *st, lnl_error *err) {
  double version, scale, offset, thr, iou;
  const cJSON *channels = cJSON_GetObjectItemCaseSensitive(j, "channels");
  if (!get_number(j, "version", 1, 1, &version))
    return lnl_fail(err, LNL_ERR_MODEL, "detector: unsupported version");
  if (!cJSON_IsString(channels) ||
      (strcmp(channels->valuestring, "bgr") != 0 && strcmp(channels->valuestring, "rgb") != 0) ||
      !get_number(j, "input_scale", -1e3, 1e3, &scale) ||
      !get_number(j, "input_offset", -1e3, 1e3, &offset) ||
      !get_int(j, "size_multiple", 1, 256, &y->multiple) ||
      !get_int(j, "landmarks", 0, LNL_MAX_LANDMARKS, &y->landmarks) ||
      !get_number(j, "score_threshold", 0, 1, &thr) || !get_number(j, "nms_iou", 0, 1, &iou))
    return lnl_fail(err, LNL_ERR_MODEL, "detector: missing or invalid settings");
  y->bgr = strcmp(channels->valuestring, "bgr") == 0;
  y->input_scale = (float)scale;
  y->input_offset = (float)offset;
  y->score_threshold = (float)thr;
  y->nms_iou = (float)iou;
  int side = REFERENCE_MULTIPLES * y->multiple;
  lnl_shape in = {3, side, side};
  lnl_status s = lnl_graph_load(&y->graph, cJSON_GetObjectItemCaseSensitive(j, "ops"), in, st, err);
  return s ? s : parse_heads(y, cJSON_GetObjectItemCaseSensitive(j, "heads"), err);
}

lnl_status lnl_yunet_load(const cJSON *j, const lnl_safetensors *st, lnl_yunet **out,
                          lnl_error *err) {
  *out = NULL;
  lnl_yunet *y = calloc(1, sizeof *y);
  if (!y) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory opening the detector");
  lnl_status s = parse(y, j, st, err);
  if (s) {
    lnl_yunet_free(y);
    return s;
  }
  *out = y;
  return LNL_OK;
}

void lnl_yunet_free(lnl_yunet *y) {
  if (!y) return;
  lnl_graph_free(&y->graph);
  free(y);
}

float lnl_yunet_score_threshold(const lnl_yunet *y) { return y->score_threshold; }
float lnl_yunet_nms_iou(const lnl_yunet *y) { return y->nms_iou; }
uint64_t lnl_yunet_macs(const lnl_yunet *y) { return y->graph.macs; }
int lnl_yunet_reference_side(const lnl_yunet *y) { return REFERENCE_MULTIPLES * y->multiple; }

void lnl_yunet_input_size(const lnl_yunet *y, int width, int height, double scale, int *net_w,
                          int *net_h, int *pad_w, int *pad_h) {
  int w = (int)lround(width * scale), h = (int)lround(height * scale);
  *net_w = w < 1 ? 1 : w;
  *net_h = h < 1 ? 1 : h;
  *pad_w = (*net_w + y->multiple - 1) / y->multiple * y->multiple;
  *pad_h = (*net_h + y->multiple - 1) / y->multiple * y->multiple;
}

size_t lnl_yunet_raw_floats(const lnl_yunet *y, int pad_w, int pad_h) {
  size_t n = 0;
  for (int i = 0; i < y->num_heads; i++) {
    int st = y->heads[i].stride;
    size_t cells = (size_t)(pad_w / st) * (size_t)(pad_h / st);
    for (int k = 0; k < HEAD_OUTPUTS; k++) n += cells * (size_t)head_channels(y, k);
  }
  return n;
}

/* Plans and runs the network on a pad_w x pad_h input; values receive the head outputs. */
static lnl_status run(const lnl_yunet *y, const float *input, int pad_w, int pad_h,
                      lnl_parallel *par, lnl_graph_workspace *ws, float **values,
                      lnl_graph_plan *plan, lnl_error *err) {
  lnl_shape in = {3, pad_h, pad_w};
  lnl_status s = lnl_graph_plan_make(&y->graph, in, plan, err);
  if (s) return s;
  if (!heads_match(y, plan->shapes, pad_w, pad_h)) {
    lnl_graph_plan_free(plan);
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: on %dx%d pixels its head outputs do not match their strides", pad_w,
                    pad_h);
  }
  s = ws ? lnl_graph_run_in(&y->graph, plan, ws, input, values, par, err)
         : lnl_graph_run_plan(&y->graph, plan, input, values, par, err);
  if (s) lnl_graph_plan_free(plan);
  return s;
}

lnl_status lnl_yunet_run_heads(const lnl_yunet *y, const float *input, int pad_w, int pad_h,
                               float *raw, size_t raw_len, lnl_parallel *par, lnl_error *err) {
  if (pad_w < 1 || pad_h < 1 || pad_w % y->multiple || pad_h % y->multiple)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "a %dx%d detector input is not a multiple of %d", pad_w,
                    pad_h, y->multiple);
  size_t need = lnl_yunet_raw_floats(y, pad_w, pad_h);
  if (raw_len < need)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "raw output buffer holds %zu floats, %zu needed",
                    raw_len, need);
  float **values = calloc((size_t)y->graph.num_ops + 1, sizeof *values);
  if (!values) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
  lnl_graph_plan plan;
  lnl_status s = run(y, input, pad_w, pad_h, par, NULL, values, &plan, err);
  if (!s) {
    for (int i = 0; i < y->num_heads; i++)
      for (int k = 0; k < HEAD_OUTPUTS; k++) {
        lnl_shape sh = plan.shapes[y->heads[i].value[k]];
        size_t n = (size_t)sh.c * sh.h * sh.w;
        memcpy(raw, values[y->heads[i].value[k]], n * sizeof(float));
        raw += n;
      }
    lnl_graph_release(&y->graph, values);
    lnl_graph_plan_free(&plan);
  }
  free(values);
  return s;
}

/* The network input: the image scaled to net_w x net_h (a copy at scale 1), in the
 * network's channel order and normalisation, padded bottom/right with black. */
static lnl_status make_input(const lnl_yunet *y, const lnl_image *img, const lnl_yunet_window *wi,
                             int net_w, int net_h, int pad_w, int pad_h, lnl_parallel *par,
                             float *input, lnl_error *err) {
  size_t plane = (size_t)pad_w * pad_h;
  float black = y->input_offset;
  for (size_t i = 0; i < 3 * plane; i++) input[i] = black;
  int order[3] = {0, 1, 2}; /* network channel c takes image channel order[c] */
  if (y->bgr) order[0] = 2, order[2] = 0;
  if (net_w == wi->width && net_h == wi->height) {
    for (int yy = 0; yy < net_h; yy++) {
      const uint8_t *row = img->pixels + (size_t)(wi->y + yy) * img->stride + (size_t)wi->x * 3;
      for (int c = 0; c < 3; c++) {
        float *dst = input + c * plane + (size_t)yy * pad_w;
        for (int x = 0; x < net_w; x++)
          dst[x] = (float)row[3 * x + order[c]] * y->input_scale + y->input_offset;
      }
    }
    return LNL_OK;
  }
  size_t n = (size_t)net_w * net_h;
  float *rgb = malloc(sizeof(float) * 3 * n);
  if (!rgb) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory detecting faces");
  lnl_window win = {wi->x, wi->y, (double)wi->width / net_w, (double)wi->height / net_h,
                    net_w, net_h};
  lnl_status s = lnl_resample_par(img, &win, 0, rgb, par, err);
  for (int c = 0; c < 3 && !s; c++)
    for (int yy = 0; yy < net_h; yy++) {
      const float *src = rgb + order[c] * n + (size_t)yy * net_w;
      float *dst = input + c * plane + (size_t)yy * pad_w;
      for (int x = 0; x < net_w; x++) dst[x] = src[x] * y->input_scale + y->input_offset;
    }
  free(rgb);
  return s;
}

static float clamp01(float v) { return v >= 0.0f ? (v <= 1.0f ? v : 1.0f) : 0.0f; /* NaN: 0 */ }

typedef struct face_list {
  lnl_face *items;
  int count, cap;
} face_list;

static int push(face_list *l, const lnl_face *f) {
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    lnl_face *p = realloc(l->items, sizeof *p * (size_t)cap);
    if (!p) return 0;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->count++] = *f;
  return 1;
}

static int by_score(const void *a, const void *b) {
  float x = ((const lnl_face *)a)->score, y = ((const lnl_face *)b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Decodes the cells of one head scoring at least `threshold`: cx = (col + b0) s,
 * cy = (row + b1) s, w = exp(b2) s, h = exp(b3) s, landmark k = ((col + kps[2k]) s,
 * (row + kps[2k + 1]) s), score = sqrt(cls obj), in network pixels, then times (sx, sy)
 * image pixels per network pixel. Cells whose values are not finite or put the face
 * absurdly far from the input are skipped (weights can make a network put out anything). */
static int decode_head(const lnl_yunet *y, const yunet_head *h, float *const *values, int pad_w,
                       int pad_h, double x0, double y0, double sx, double sy, float threshold,
                       face_list *out) {
  int st = h->stride, gw = pad_w / st, gh = pad_h / st;
  size_t plane = (size_t)gw * gh;
  const float *cls = values[h->value[0]], *obj = values[h->value[1]];
  const float *bbox = values[h->value[2]], *kps = values[h->value[3]];
  double cells = MAX_BOX_SIDES * (pad_w > pad_h ? pad_w : pad_h) / st;
  double max_log = log(cells);
  for (int row = 0; row < gh; row++)
    for (int col = 0; col < gw; col++) {
      size_t i = (size_t)row * gw + col;
      float score = sqrtf(clamp01(cls[i]) * clamp01(obj[i]));
      if (!(score >= threshold)) continue;
      float b[4];
      int sane = 1;
      for (int k = 0; k < 4; k++) {
        b[k] = bbox[k * plane + i];
        sane = sane && fabs(b[k]) <= (k < 2 ? cells : max_log);
      }
      for (int k = 0; k < 2 * y->landmarks; k++) sane = sane && fabs(kps[k * plane + i]) <= cells;
      if (!sane) continue; /* NaN too */
      double cx = (col + b[0]) * st, cy = (row + b[1]) * st;
      double w = exp(b[2]) * st, hh = exp(b[3]) * st;
      lnl_face f = {0};
      f.score = score;
      f.box = (lnl_rect){(float)(x0 + (cx - w / 2) * sx), (float)(y0 + (cy - hh / 2) * sy),
                         (float)(w * sx), (float)(hh * sy)};
      f.num_landmarks = y->landmarks;
      for (int k = 0; k < y->landmarks; k++) {
        f.landmarks[k][0] = (float)(x0 + (col + kps[2 * k * plane + i]) * st * sx);
        f.landmarks[k][1] = (float)(y0 + (row + kps[(2 * k + 1) * plane + i]) * st * sy);
      }
      if (!push(out, &f)) return 0;
    }
  return 1;
}

void lnl_yunet_workspace_free(lnl_yunet_workspace *ws) {
  lnl_graph_workspace_free(&ws->graph);
  free(ws->input);
  memset(ws, 0, sizeof *ws);
}

lnl_status lnl_yunet_pass(const lnl_yunet *y, const lnl_image *img, const lnl_yunet_window *win,
                          float threshold, lnl_parallel *par, lnl_yunet_workspace *ws,
                          lnl_face **faces, int *count, lnl_error *err) {
  *faces = NULL;
  *count = 0;
  lnl_yunet_window whole = {0, 0, img->width, img->height, 1.0};
  if (!win) win = &whole;
  if (win->x < 0 || win->y < 0 || win->width < 1 || win->height < 1 ||
      win->width > img->width - win->x || win->height > img->height - win->y ||
      !(win->scale > 0.0 && win->scale <= 1e3))
    return lnl_fail(err, LNL_ERR_ARGUMENT,
                    "a detector window (%d, %d, %dx%d, scale %g) outside the %dx%d image", win->x,
                    win->y, win->width, win->height, win->scale, img->width, img->height);
  lnl_yunet_workspace own = {0};
  if (!ws) ws = &own;
  int net_w, net_h, pad_w, pad_h;
  lnl_yunet_input_size(y, win->width, win->height, win->scale, &net_w, &net_h, &pad_w, &pad_h);
  size_t need = 3 * (size_t)pad_w * pad_h;
  if (ws->input_cap < need) {
    free(ws->input);
    ws->input = malloc(sizeof(float) * need);
    ws->input_cap = ws->input ? need : 0;
  }
  float **values = calloc((size_t)y->graph.num_ops + 1, sizeof *values);
  lnl_status s =
      ws->input && values ? LNL_OK : lnl_fail(err, LNL_ERR_MEMORY, "out of memory detecting faces");
  if (!s) s = make_input(y, img, win, net_w, net_h, pad_w, pad_h, par, ws->input, err);
  lnl_graph_plan plan;
  if (!s) s = run(y, ws->input, pad_w, pad_h, par, &ws->graph, values, &plan, err);
  if (ws == &own) lnl_yunet_workspace_free(&own);
  if (s) {
    free(values);
    return s;
  }
  face_list l = {0};
  double sx = (double)win->width / net_w, sy = (double)win->height / net_h;
  int ok = 1;
  for (int i = 0; i < y->num_heads && ok; i++)
    ok = decode_head(y, &y->heads[i], values, pad_w, pad_h, win->x, win->y, sx, sy, threshold, &l);
  lnl_graph_release(&y->graph, values);
  lnl_graph_plan_free(&plan);
  free(values);
  if (!ok) {
    free(l.items);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory collecting detections");
  }
  *faces = l.items;
  *count = l.count;
  return LNL_OK;
}

static float iou(const lnl_rect *a, const lnl_rect *b) {
  float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
  float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
  float inter = fmaxf(0.0f, x1 - x0) * fmaxf(0.0f, y1 - y0);
  float uni = a->w * a->h + b->w * b->h - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

int lnl_yunet_nms(lnl_face *faces, int count, float thr) {
  if (count < 1) return 0;
  qsort(faces, (size_t)count, sizeof *faces, by_score);
  int kept = 0;
  for (int i = 0; i < count; i++) {
    int keep = 1;
    for (int k = 0; k < kept && keep; k++) keep = !(iou(&faces[k].box, &faces[i].box) > thr);
    if (keep) faces[kept++] = faces[i];
  }
  return kept;
}

int lnl_yunet_plan(int width, int height, const lnl_detect_options *opt,
                   lnl_yunet_plan_pass pass[LNL_YUNET_MAX_PASSES]) {
  /* the same arithmetic as multiscale.py (native_scale, plan), so the scales agree exactly */
  double mp = (double)width * height / 1e6, cap_mp = LNL_YUNET_CAP_PIXELS / 1e6;
  double s = mp <= cap_mp ? 1.0 : sqrt(cap_mp / mp);
  int longer = width > height ? width : height, shorter = width < height ? width : height;
  if (opt && opt->max_side > 0 && longer * s > opt->max_side) s = (double)opt->max_side / longer;
  if (shorter * s / LNL_YUNET_DOWN < LNL_YUNET_MIN_SIDE) {
    pass[0] = (lnl_yunet_plan_pass){s, 0.0, INFINITY};
    return 1;
  }
  pass[0] = (lnl_yunet_plan_pass){s, 0.0, LNL_YUNET_NATIVE_MAX / s};
  pass[1] =
      (lnl_yunet_plan_pass){s / LNL_YUNET_DOWN, LNL_YUNET_DOWN_MIN * LNL_YUNET_DOWN / s, INFINITY};
  return 2;
}

uint64_t lnl_yunet_pass_macs(const lnl_yunet *y, int width, int height, double scale) {
  int net_w, net_h, pad_w, pad_h;
  lnl_yunet_input_size(y, width, height, scale, &net_w, &net_h, &pad_w, &pad_h);
  lnl_graph_plan plan;
  lnl_error err;
  if (lnl_graph_plan_make(&y->graph, (lnl_shape){3, pad_h, pad_w}, &plan, &err)) return 0;
  uint64_t macs = plan.macs;
  lnl_graph_plan_free(&plan);
  return macs;
}

lnl_status lnl_yunet_detect(const lnl_yunet *y, const lnl_image *img, const lnl_detect_options *opt,
                            lnl_parallel *par, const lnl_detect_hook *hook, lnl_face **faces,
                            int *count, lnl_error *err) {
  *faces = NULL;
  *count = 0;
  lnl_yunet_plan_pass plan[LNL_YUNET_MAX_PASSES];
  int passes = lnl_yunet_plan(img->width, img->height, opt, plan);
  lnl_yunet_workspace ws = {0}; /* the second pass reuses the first's buffers */
  face_list all = {0};
  lnl_status s = LNL_OK;
  for (int p = 0; p < passes && !s; p++) {
    if (hook && hook->pass && hook->pass(hook->user, p, passes) != 0) {
      s = lnl_fail(err, LNL_ERR_CANCELLED, "the face detection was cancelled");
      break;
    }
    lnl_face *found = NULL;
    int n = 0;
    lnl_yunet_window win = {0, 0, img->width, img->height, plan[p].scale};
    s = lnl_yunet_pass(y, img, &win, opt->score_threshold, par, &ws, &found, &n, err);
    for (int i = 0; i < n && !s; i++) {
      double w = found[i].box.w;
      if (w >= plan[p].min_width && w < plan[p].max_width && !push(&all, &found[i]))
        s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory collecting detections");
    }
    free(found);
  }
  lnl_yunet_workspace_free(&ws);
  if (s) {
    free(all.items);
    return s;
  }
  int n = all.count;
  if (n > MAX_CANDIDATES) { /* bounded NMS work: the most confident */
    qsort(all.items, (size_t)n, sizeof *all.items, by_score);
    n = MAX_CANDIDATES;
  }
  n = lnl_yunet_nms(all.items, n, opt->nms_iou);
  int kept = 0;
  for (int i = 0; i < n; i++) {
    if (all.items[i].box.w < (float)opt->min_face_size) continue;
    if (opt->max_faces && kept == opt->max_faces) break;
    all.items[kept++] = all.items[i];
  }
  if (kept == 0) {
    free(all.items);
    all.items = NULL;
  }
  *faces = all.items;
  *count = kept;
  return LNL_OK;
}
