/* The YuNet detector kind ("format": "lnlfer-yunet", tools/detector/convert_yunet.py): an
 * anchor-free network run on the image at (close to) its own size, any aspect ratio, the
 * input padded bottom/right to a multiple of its largest stride. Each head (stride S) gives
 * per grid cell a class and an objectness probability, a box and five landmarks, decoded
 * as OpenCV's FaceDetectorYN does; overlapping faces are then suppressed (hard NMS). */
#ifndef LNL_YUNET_H
#define LNL_YUNET_H

#include <cjson/cJSON.h>

#include "lnl_detector.h"
#include "lnl_graph.h"
#include "lnl_safetensors.h"

/* The multi-scale plan (tools/detector/README.md, "Multi-scale plan"; multiscale.py is its
 * Python reference): a first pass at scale s = 1, or sqrt(6 MP / (W H)) for an image above
 * 6 megapixels (bounded time and memory whatever the image's size), keeping boxes narrower
 * than 192 of its own pixels; a second pass at s / 4 keeping boxes at least 24 of its own
 * pixels wide, skipped (the first then keeps every width) when its shorter side would be
 * under 64 pixels; one NMS over what both keep. */
#define LNL_YUNET_CAP_PIXELS 6e6
#define LNL_YUNET_DOWN 4
#define LNL_YUNET_NATIVE_MAX 192.0
#define LNL_YUNET_DOWN_MIN 24.0
#define LNL_YUNET_MIN_SIDE 64
#define LNL_YUNET_MAX_PASSES 2

typedef struct lnl_yunet lnl_yunet;

/* Parses the "lnl.detector" object of a YuNet file and binds its tensors. */
lnl_status lnl_yunet_load(const cJSON *j, const lnl_safetensors *st, lnl_yunet **out,
                          lnl_error *err);
void lnl_yunet_free(lnl_yunet *y);

float lnl_yunet_score_threshold(const lnl_yunet *y);
float lnl_yunet_nms_iou(const lnl_yunet *y);
/* The reference input's side (10 size multiples: 320), on which the program is checked
 * when loaded and lnl_detector_run_raw runs it, and the multiply-adds of a pass on it. */
int lnl_yunet_reference_side(const lnl_yunet *y);
uint64_t lnl_yunet_macs(const lnl_yunet *y);

/* The network input size for an image of width x height pixels scaled by `scale`
 * (network pixels per image pixel): the scaled size rounded, then padded up to the size
 * multiple. */
void lnl_yunet_input_size(const lnl_yunet *y, int width, int height, double scale, int *net_w,
                          int *net_h, int *pad_w, int *pad_h);

/* Floats lnl_yunet_run_heads writes for a pad_w x pad_h input. */
size_t lnl_yunet_raw_floats(const lnl_yunet *y, int pad_w, int pad_h);

/* The network alone on one input (3 x pad_h x pad_w planes, already normalised, in the
 * network's channel order): writes every head's outputs in head order, each head as its
 * cls [1][h][w], obj [1][h][w], bbox [4][h][w], kps [10][h][w] planes (h = pad_h / stride,
 * w = pad_w / stride; the probabilities after the sigmoid). */
lnl_status lnl_yunet_run_heads(const lnl_yunet *y, const float *input, int pad_w, int pad_h,
                               float *raw, size_t raw_len, lnl_parallel *par, lnl_error *err);

/* What a caller's passes keep from one to the next (one caller at a time): the network
 * input and the graph's buffers. Zero-initialised it is empty. */
typedef struct lnl_yunet_workspace {
  lnl_graph_workspace graph;
  float *input;
  size_t input_cap;
} lnl_yunet_workspace;
void lnl_yunet_workspace_free(lnl_yunet_workspace *ws);

/* What one pass looks at: a window of the image (pixels, inside it) scaled by `scale`
 * (network pixels per image pixel). */
typedef struct lnl_yunet_window {
  int x, y, width, height;
  double scale;
} lnl_yunet_window;

/* Every cell of one pass whose score reaches `threshold`, decoded into image pixels
 * (*faces malloc'd, *count entries; NULL when none), before NMS. win NULL: the whole image
 * at scale 1; a window not inside the image is refused (LNL_ERR_ARGUMENT). ws may be NULL
 * (the pass's buffers are then its own). */
lnl_status lnl_yunet_pass(const lnl_yunet *y, const lnl_image *img, const lnl_yunet_window *win,
                          float threshold, lnl_parallel *par, lnl_yunet_workspace *ws,
                          lnl_face **faces, int *count, lnl_error *err);

/* Hard NMS in place: sorts by score (best first) and keeps a face unless it overlaps a
 * better kept one by an IoU above `iou`. Returns how many are kept (at the front). */
int lnl_yunet_nms(lnl_face *faces, int count, float iou);

/* One pass of the plan: its scale (network pixels per image pixel) and the box widths, in
 * image pixels, that it keeps (min_width <= w < max_width; max_width may be INFINITY). */
typedef struct lnl_yunet_plan_pass {
  double scale, min_width, max_width;
} lnl_yunet_plan_pass;

/* The plan's passes for a width x height image (returns how many: 1 or 2). opt->max_side
 * (when > 0; opt may be NULL) further caps the first pass's longer side, as for every
 * detector. */
int lnl_yunet_plan(int width, int height, const lnl_detect_options *opt,
                   lnl_yunet_plan_pass pass[LNL_YUNET_MAX_PASSES]);

/* The multiply-adds of one pass of the image at `scale` (0 when it would be refused). */
uint64_t lnl_yunet_pass_macs(const lnl_yunet *y, int width, int height, double scale);

/* lnl_detect_on for this kind: the plan's passes (hook asked before each), the boxes each
 * keeps by width, one NMS, then opt's min_face_size and max_faces. */
lnl_status lnl_yunet_detect(const lnl_yunet *y, const lnl_image *img, const lnl_detect_options *opt,
                            lnl_parallel *par, const lnl_detect_hook *hook, lnl_face **faces,
                            int *count, lnl_error *err);

#endif
