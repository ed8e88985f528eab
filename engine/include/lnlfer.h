/* lnlfer: facial-expression inference with the Local Non-Local joint network.
 *
 * Usage: the faces of an 8-bit RGB photo and each one's most probable expression
 * (tests/test_public_api.c runs this example).
 *
 *   lnl_error err = {0};
 *   lnl_model *model = NULL;
 *   lnl_detector *det = NULL;
 *   lnl_context *ctx = NULL;
 *   lnl_face_analysis *faces = NULL;
 *   int count = 0;
 *   if (lnl_model_open("lnlfer-expression.safetensors", &model, &err) == LNL_OK &&
 *       lnl_detector_open("blazeface-back.safetensors", &det, &err) == LNL_OK &&
 *       lnl_context_new(model, 2, &ctx, &err) == LNL_OK) {
 *     lnl_image photo = {rgb, width, height, 3 * (size_t)width};
 *     lnl_detect_options opt;
 *     lnl_detect_options_init(det, &opt);
 *     if (lnl_analyze(ctx, det, &photo, &opt, &faces, &count, &err) == LNL_OK)
 *       for (int i = 0; i < count; i++)
 *         printf("face at %.0f,%.0f: %s\n", faces[i].face.box.x, faces[i].face.box.y,
 *                lnl_model_class_name(model, faces[i].expression.label));
 *   }
 *   if (err.code != LNL_OK) fprintf(stderr, "lnlfer: %s\n", err.message);
 *   free(faces);
 *   lnl_context_free(ctx);
 *   lnl_detector_close(det);
 *   lnl_model_close(model);
 *
 * This is the engine library's whole public interface; its build gives clients this
 * header's directory only (the engine's internal headers are not reachable from it).
 * Pure C11; no global state beyond OpenBLAS's own and the kernel set picked once for the
 * CPU ($LNL_KERNEL forces one). A model is immutable after opening and may be shared by
 * threads; a context holds one thread's scratch memory and must not be used by two
 * threads at once.
 *
 * Every function that can fail returns an lnl_status and, when `err` is not
 * NULL, fills it with a message meant for the user. The library never prints
 * and never exits.
 */
#ifndef LNLFER_H
#define LNLFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LNL_MAX_CLASSES 16
#define LNL_MAX_REGIONS 64

typedef enum lnl_status {
  LNL_OK = 0,
  LNL_ERR_IO,       /* file could not be opened or read */
  LNL_ERR_FORMAT,   /* not a valid safetensors file */
  LNL_ERR_MODEL,    /* valid file, but not a network this engine can run */
  LNL_ERR_ARGUMENT, /* bad argument (empty image, null pointer, ...) */
  LNL_ERR_MEMORY,   /* out of memory */
  LNL_ERR_CANCELLED /* the caller's progress callback (or image source) asked to stop */
} lnl_status;

typedef struct lnl_error {
  lnl_status code;
  char message[512];
} lnl_error;

/* ---- Version -------------------------------------------------------------- */

/* The library's version, "MAJOR.MINOR.PATCH" (the meson project version it was built as). */
const char *lnl_version(void);

/* ---------------------------------------------------------------------------- */

typedef struct lnl_model lnl_model;
typedef struct lnl_context lnl_context;

/* An 8-bit RGB image: `stride` bytes between rows, 3 bytes per pixel. */
typedef struct lnl_image {
  const uint8_t *pixels;
  int width;
  int height;
  size_t stride;
} lnl_image;

typedef struct lnl_rect {
  float x, y, w, h;
} lnl_rect;

/* What the network says about one face crop. */
typedef struct lnl_result {
  int label;                         /* index of the most probable class */
  float probs[LNL_MAX_CLASSES];      /* lnl_model_num_classes() used */
  float weights[LNL_MAX_REGIONS];    /* region weights, sum 1 */
  lnl_rect regions[LNL_MAX_REGIONS]; /* each region in crop coordinates */
} lnl_result;

/* Opens a weights file (safetensors). The file is memory-mapped while it is
 * validated and loaded; nothing of it is kept open afterwards. */
lnl_status lnl_model_open(const char *path, lnl_model **out, lnl_error *err);

/* Same, from a buffer the caller owns; it is not referenced after return. */
lnl_status lnl_model_open_memory(const void *data, size_t size, lnl_model **out, lnl_error *err);

void lnl_model_close(lnl_model *model);

int lnl_model_num_classes(const lnl_model *model);
const char *lnl_model_class_name(const lnl_model *model, int index);
int lnl_model_num_regions(const lnl_model *model);
/* Side of the square network input, in pixels, and its channel count (1 or 3). */
int lnl_model_input_size(const lnl_model *model);
int lnl_model_input_channels(const lnl_model *model);
/* Multiply-adds for one face, counted from the layer shapes. */
uint64_t lnl_model_macs(const lnl_model *model);
/* A string from the file's __metadata__, or NULL. */
const char *lnl_model_metadata(const lnl_model *model, const char *key);

/* A context runs the model with up to `threads` threads (>= 1): the calling thread and
 * threads - 1 workers that live as long as the context (they sleep while it is idle). They
 * are the engine's only threads: the detector runs on them too (lnl_context_detect,
 * lnl_analyze). `model` may be NULL for a context that only detects faces. */
lnl_status lnl_context_new(const lnl_model *model, int threads, lnl_context **out, lnl_error *err);
void lnl_context_free(lnl_context *ctx);

/* Classifies `n` face crops (each an already-cut face of any size). */
lnl_status lnl_classify(lnl_context *ctx, const lnl_image *crops, int n, lnl_result *results,
                        lnl_error *err);

/* Preprocessing alone: writes channels x size x size floats for one crop. */
lnl_status lnl_preprocess(const lnl_model *model, const lnl_image *crop, float *input,
                          lnl_error *err);

/* The network alone on `n` preprocessed inputs laid out one after another;
 * region rectangles are reported in network-input coordinates. */
lnl_status lnl_run(lnl_context *ctx, const float *inputs, int n, lnl_result *results,
                   lnl_error *err);

/* ---- Face detection ---------------------------------------------------- */

#define LNL_MAX_LANDMARKS 8

typedef struct lnl_detector lnl_detector;

/* One face: box in image pixels, detector confidence, landmarks in image pixels. Their
 * layout follows from their number: YuNet's LNL_YUNET_LANDMARKS are right eye, left eye,
 * nose tip, right mouth corner, left mouth corner; BlazeFace's 6 right eye, left eye, nose,
 * mouth, right ear, left ear ("right" is the person's right, on the left of the image). */
#define LNL_YUNET_LANDMARKS 5
typedef struct lnl_face {
  lnl_rect box;
  float score;
  int num_landmarks;
  float landmarks[LNL_MAX_LANDMARKS][2];
} lnl_face;

typedef struct lnl_detect_options {
  float score_threshold; /* minimum confidence, 0..1 */
  float nms_iou;         /* overlapping detections above this IoU are blended */
  int min_face_size;     /* pixels (box width); smaller faces are dropped */
  int max_faces;         /* keep the most confident; 0 = no limit */
  int max_side;          /* larger images are detected on a downscaled copy */
} lnl_detect_options;

/* Defaults from the detector file (threshold, IoU) and sensible limits. */
void lnl_detect_options_init(const lnl_detector *det, lnl_detect_options *opt);

lnl_status lnl_detector_open(const char *path, lnl_detector **out, lnl_error *err);
lnl_status lnl_detector_open_memory(const void *data, size_t size, lnl_detector **out,
                                    lnl_error *err);
void lnl_detector_close(lnl_detector *det);
/* Multiply-adds of one network pass. */
uint64_t lnl_detector_macs(const lnl_detector *det);
const char *lnl_detector_metadata(const lnl_detector *det, const char *key);

/* Finds faces in an image of any size, on the calling thread alone. On success *faces is a
 * malloc'd array of *count faces, most confident first (free it with free()); no face is
 * not an error. The detector may be shared by threads. */
lnl_status lnl_detect(const lnl_detector *det, const lnl_image *img, const lnl_detect_options *opt,
                      lnl_face **faces, int *count, lnl_error *err);
/* The same on the context's threads. */
lnl_status lnl_context_detect(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                              const lnl_detect_options *opt, lnl_face **faces, int *count,
                              lnl_error *err);

/* How many network passes lnl_detect makes on an image of this size. */
int lnl_detect_passes(const lnl_detector *det, int width, int height,
                      const lnl_detect_options *opt);
/* The multiply-adds of all those passes (a YuNet pass's grow with the image; 0 when the
 * image is too large for a pass, which lnl_detect would refuse). */
uint64_t lnl_detect_macs(const lnl_detector *det, int width, int height,
                         const lnl_detect_options *opt);

/* The detector network alone on one normalised input (3 x size x size): writes the
 * raw head outputs, concatenated in head order (scores then box values of each head). */
lnl_status lnl_detector_run_raw(const lnl_detector *det, const float *input, float *raw,
                                size_t raw_len, lnl_error *err);

/* ---- Detect, align and classify ---------------------------------------- */

typedef struct lnl_face_analysis {
  lnl_face face;
  lnl_result expression;  /* its region rectangles are in aligned-crop pixels */
  int crop_side;          /* the aligned crop is crop_side x crop_side pixels */
  float crop_to_image[6]; /* crop (u, v) -> image: x = m0 u + m1 v + m2, y = m3 u + m4 v + m5 */
  /* Face quality (lnl_face_assess): the root-mean-square distance between the four landmarks
   * and the alignment template mapped into the image, in units of the mapped template's eye
   * distance (-1 without landmarks); whether the fit is plausible for a face (see
   * LNL_FIT_*), and whether the face counts as confident: detector score at least
   * LNL_CONFIDENT_SCORE and a plausible fit. Non-human and masked faces mostly fail it. */
  float landmark_fit;
  int plausible_fit;
  int confident;
} lnl_face_analysis;

/* The face-quality thresholds (measured on photos-dlib, README "Face quality"). */
#define LNL_CONFIDENT_SCORE 0.75f
#define LNL_FIT_MAX_ERROR 0.3f     /* landmark_fit above this: implausible */
#define LNL_FIT_MAX_ROTATION 50.0f /* degrees the fit turns the face, at most */
#define LNL_FIT_MIN_SCALE 0.75f    /* the aligned crop's face (its side) over the box width */
#define LNL_FIT_MAX_SCALE 1.35f

/* Fills the face-quality fields of `a` from its face (landmarks, score), crop_side and
 * crop_to_image (as lnl_align made them), with the model's alignment template.
 * lnl_analyze calls it; callers that align and classify faces themselves call it after. */
void lnl_face_assess(const lnl_model *model, lnl_face_analysis *a);

/* Detects every face, aligns each to the geometry of the network's training crops
 * and classifies it: lnl_analyze_source's steps on an image in memory, which needs no view
 * and no patches (the detector downscales its windows to opt->max_side itself, and each
 * face is aligned from the full image). *out is a malloc'd array of *count entries (free()). */
lnl_status lnl_analyze(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                       const lnl_detect_options *opt, lnl_face_analysis **out, int *count,
                       lnl_error *err);

/* lnl_analyze that also hands each face's aligned crop, the very pixels it is classified
 * from, to crop(user, i, rgb, side): face i of *out, rgb side x side RGB (side =
 * lnl_model_crop_side), valid during that call only; called as each face is aligned, before
 * the faces are classified (a call that fails later may have handed some). */
lnl_status lnl_analyze_with_crops(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                                  const lnl_detect_options *opt,
                                  void (*crop)(void *user, int face, const uint8_t *rgb, int side),
                                  void *user, lnl_face_analysis **out, int *count, lnl_error *err);

/* ---- The face pipeline on an image source ------------------------------ */

/* An image the engine reads itself, in parts, each at the resolution its step needs: so a
 * front end hands over no copy of a huge image, only a way to read it. */
typedef struct lnl_source {
  void *user;
  int width, height; /* the image's size in pixels */
  /* Writes the rectangle (x, y, w, h) of the image (inside it), scaled by `scale`
   * (0 < scale <= 1), as lnl_scaled_side(w, scale) x lnl_scaled_side(h, scale) RGB pixels
   * with `stride` bytes between rows. Returns LNL_OK, else the status the call then fails
   * with (LNL_ERR_IO: the image could not be read; LNL_ERR_CANCELLED: the user stopped it
   * while it read). */
  lnl_status (*read)(void *user, int x, int y, int w, int h, double scale, uint8_t *rgb,
                     size_t stride);
  /* NULL, or whether to keep a face found (in image pixels) before it is classified, e.g.
   * only faces inside a selection; opt->max_faces then counts the faces kept. */
  int (*keep)(void *user, const lnl_face *face);
} lnl_source;

/* The side of a scaled read: max(1, floor(side x scale + 0.5)), or side when scale >= 1. */
int lnl_scaled_side(int side, double scale);

typedef enum lnl_stage {
  LNL_STAGE_READ,    /* reading the view the detector looks at */
  LNL_STAGE_DETECT,  /* the detector's passes */
  LNL_STAGE_CLASSIFY /* reading, aligning and classifying the faces */
} lnl_stage;

/* Called with the fraction of the whole call done (0..1, never decreasing; 1 once, at the
 * end) and its current step: before the view is read, before each detector pass, before
 * each face is read and before each group of faces classified together. Returning nonzero
 * stops the call, which then returns LNL_ERR_CANCELLED. */
typedef int (*lnl_progress_func)(void *user, lnl_stage stage, float fraction);

/* Detects, aligns and classifies every face of `src`, on the context's threads: detection on
 * a view of the image downscaled to at most opt->max_side pixels a side (0: not
 * downscaled), with opt->min_face_size in image pixels; then each face aligned from the view
 * or, when the view is downscaled, from a patch around it read again at up to
 * LNL_PATCH_SIDE pixels; then the faces classified in parallel. Every coordinate of *out
 * is in image pixels. *out is a malloc'd array of *count entries (free()); no face is not an
 * error. `progress` may be NULL. */
#define LNL_PATCH_SIDE 768
lnl_status lnl_analyze_source(lnl_context *ctx, const lnl_detector *det, const lnl_source *src,
                              const lnl_detect_options *opt, lnl_progress_func progress,
                              void *progress_user, lnl_face_analysis **out, int *count,
                              lnl_error *err);

/* The aligned crop of one detected face (crop_side x crop_side RGB written to `rgb`,
 * crop_side = 2 x the network input side) and its crop-to-image transform. */
int lnl_model_crop_side(const lnl_model *model);
lnl_status lnl_align(const lnl_model *model, const lnl_image *img, const lnl_face *face,
                     uint8_t *rgb, float crop_to_image[6], lnl_error *err);

/* Whether the weights were trained on aligned crops (their recipe's crop "aligned"): an
 * already-cut face then matches the training crops best after lnl_align_face_crop. */
int lnl_model_trained_on_aligned_crops(const lnl_model *model);

/* Re-cuts an already-cut face (of any framing) the way aligned training cut its faces: the
 * detector looks for the face in the crop, drawn in the middle of a grey canvas, and the
 * crop is resampled along the similarity from the model's alignment template to the
 * landmarks found, into a square of the crop's longer side, at most 1024 pixels (edges
 * repeated; a re-cut of a longer crop is that square scaled down). *rgb is
 * malloc'd (*side x *side RGB, free()); *found is 0 when no face was found, or when the fit
 * frames the crop far from the framing assumed for a crop (mostly a detection on part of the
 * face), and the crop is then cut along that assumed framing: the average training crop's
 * (the FER+/RAF-DB mix template) re-cut to the model's template. */
lnl_status lnl_align_face_crop(const lnl_model *model, const lnl_detector *det,
                               const lnl_image *crop, uint8_t **rgb, int *side, int *found,
                               lnl_error *err);

const char *lnl_status_name(lnl_status status);

#ifdef __cplusplus
}
#endif

#endif
