/* lnlfer annotate: an image with its faces' region maps, boxes and labels drawn over it,
 * with the same ui/ drawing functions as the GIMP plug-in. */
#include <cairo.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lnlfer-json.h"
#include "lnlfer-render.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer annotate [OPTIONS] IMAGE -o OUT\n"
               "\n"
               "Finds every face of IMAGE, recognises its expression and writes the image with\n"
               "the faces' region maps, boxes and labels drawn over it, as the GIMP plug-in\n"
               "draws them.\n"
               "\n"
               "  -o, --output FILE   the annotated image; required. Its format follows the name:\n"
               "                      .png, .jpg/.jpeg, .tif/.tiff or .webp; - writes PNG to\n"
               "                      standard output. Never written over IMAGE or --json.\n"
               "  --json FILE         also write the results there (analyze's JSON of the image;\n"
               "                      - for standard output)\n"
               "  --labels WHAT       top-class (default), top-3 (with probabilities) or none\n"
               "  --no-boxes          no boxes and labels\n"
               "  --no-region-map     no region map\n"
               "  --opacity P         region-map opacity, 0..100 (default 60)\n"
               "  --colormap MAP      turbo (default), inferno, viridis or grey\n"
               "  --weights FILE      expression weights (default: the shipped ones)\n"
               "  --detector FILE     detector weights (default: the shipped BlazeFace)\n");
  cli_help_detection(out, 22);
  fprintf(out, "  --threads N         threads (default 1)\n"
               "\n"
               "Exit status: 0 when a face was found, 3 when the image has none (it is still\n"
               "written), 1 when something failed, 2 for a usage error.\n");
}

enum { OPT_JSON = 256, OPT_LABELS, OPT_NO_BOXES, OPT_NO_MAP, OPT_OPACITY, OPT_COLORMAP };

typedef struct run {
  cli_engine engine;
  const char *output, *json;
  lnlr_style style;
} run;

/* Names as in the plug-in's arguments (label-content, colormap). */
static int pick(const char *arg, const char *const *names, const int *values, int n, int *out) {
  for (int i = 0; i < n; i++)
    if (strcmp(arg, names[i]) == 0) {
      *out = values[i];
      return 1;
    }
  return 0;
}

static int annotate_option(int key, const char *arg, void *data) {
  static const char *const label_names[] = {"top-class", "top-3", "none"};
  static const int label_values[] = {LNLR_LABELS_TOP, LNLR_LABELS_TOP3, LNLR_LABELS_NONE};
  static const char *const cmap_names[] = {"turbo", "inferno", "viridis", "grey"};
  static const int cmap_values[] = {LNLR_CMAP_TURBO, LNLR_CMAP_INFERNO, LNLR_CMAP_VIRIDIS,
                                    LNLR_CMAP_GREY};
  run *r = data;
  int v;
  char *end;
  switch (key) {
  case 'o': r->output = arg; return 0;
  case OPT_JSON: r->json = arg; return 0;
  case OPT_NO_BOXES: r->style.boxes = 0; return 0;
  case OPT_NO_MAP: r->style.region_map = 0; return 0;
  case OPT_LABELS:
    if (pick(arg, label_names, label_values, 3, &v)) {
      r->style.labels = (lnlr_labels)v;
      return 0;
    }
    fprintf(stderr, "lnlfer annotate: --labels must be top-class, top-3 or none\n");
    return 2;
  case OPT_COLORMAP:
    if (pick(arg, cmap_names, cmap_values, 4, &v)) {
      r->style.colormap = (lnlr_colormap)v;
      return 0;
    }
    fprintf(stderr, "lnlfer annotate: --colormap must be turbo, inferno, viridis or grey\n");
    return 2;
  case OPT_OPACITY: {
    double p = strtod(arg, &end);
    if (end != arg && !*end && p >= 0.0 && p <= 100.0) {
      r->style.opacity = p / 100.0;
      return 0;
    }
    fprintf(stderr, "lnlfer annotate: --opacity must be between 0 and 100\n");
    return 2;
  }
  default: return 2;
  }
}

/* The image in a cairo surface (RGB24: one 0x00RRGGBB word per pixel). */
static cairo_surface_t *to_surface(const lnl_image *img) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->width, img->height);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return s;
  unsigned char *data = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < img->height; y++) {
    const uint8_t *src = img->pixels + (size_t)y * img->stride;
    uint32_t *dst = (uint32_t *)(void *)(data + (size_t)y * stride);
    for (int x = 0; x < img->width; x++, src += 3)
      dst[x] = (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 | src[2];
  }
  cairo_surface_mark_dirty(s);
  return s;
}

/* The surface's pixels as packed RGB, in place (each row's 3 bytes a pixel land at or
 * before where its 4 were read), for the image writer. */
static uint8_t *pack_rgb(cairo_surface_t *s) {
  cairo_surface_flush(s);
  uint8_t *data = cairo_image_surface_get_data(s);
  int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < h; y++) {
    const uint32_t *src = (const uint32_t *)(void *)(data + (size_t)y * stride);
    uint8_t *dst = data + (size_t)y * w * 3;
    for (int x = 0; x < w; x++) {
      uint32_t p = src[x];
      dst[3 * x] = (uint8_t)(p >> 16), dst[3 * x + 1] = (uint8_t)(p >> 8),
              dst[3 * x + 2] = (uint8_t)p;
    }
  }
  return data;
}

static int write_json(const char *path, cJSON *o, char *why, size_t why_size) {
  char *text = cJSON_Print(o);
  size_t n = text ? strlen(text) : 0;
  if (text) text[n] = '\n'; /* over the terminating zero: the file ends with a newline */
  int ok = text ? cli_file_write(path, text, n + 1, why, why_size) : 0;
  if (!text) snprintf(why, why_size, "not enough memory");
  free(text);
  return ok;
}

static int annotate_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  const cli_engine *e = &r->engine;
  lnl_face_analysis *res = NULL;
  int n = 0, failed = 0;
  lnl_error err = {0};
  if (lnl_analyze(e->ctx, e->detector, img, &e->detect, &res, &n, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return 1;
  }
  lnlr_scene scene = {res,
                      n,
                      e->num_classes,
                      e->num_regions,
                      e->class_keys,
                      e->class_keys,
                      {0, 0, img->width, img->height},
                      NULL,
                      "uncertain face"};
  cairo_surface_t *s = to_surface(img);
  cairo_status_t st = cairo_surface_status(s);
  char why[512];
  if (st == CAIRO_STATUS_SUCCESS && !lnlr_draw_annotations(s, 0, 0, 1.0, &scene, &r->style))
    st = CAIRO_STATUS_NO_MEMORY;
  if (st != CAIRO_STATUS_SUCCESS) {
    fprintf(stderr, "lnlfer: %s: cannot draw the annotations: %s\n", path,
            cairo_status_to_string(st));
    failed = 1;
  } else if (!cli_image_write(r->output, pack_rgb(s), img->width, img->height,
                              (size_t)img->width * 3, why, sizeof why)) {
    fprintf(stderr, "lnlfer: %s: %s\n", r->output, why);
    failed = 1;
  }
  cairo_surface_destroy(s);
  if (r->json) {
    cJSON *o = cli_json_image(path, img);
    cJSON *faces = cJSON_AddArrayToObject(o, "faces");
    for (int k = 0; k < n; k++)
      cJSON_AddItemToArray(faces,
                           lnlj_face(&res[k], e->num_classes, e->class_keys, e->num_regions, -1));
    if (!write_json(r->json, o, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: %s\n", r->json, why);
      failed = 1;
    }
    cJSON_Delete(o);
  }
  fprintf(stderr, "%s: %d face%s\n", path, n, n == 1 ? "" : "s");
  free(res);
  return failed ? CLI_EXIT_FAILED : n > 0 ? CLI_EXIT_OK : CLI_EXIT_NO_FACE;
}

/* Before any work: a known output format, and neither output over an input or the other. */
static int outputs_allowed(const run *r, const char *image, const cli_options *o) {
  char why[512];
  if (cli_out_format_of(r->output) == CLI_OUT_UNKNOWN) {
    fprintf(stderr, "lnlfer annotate: %s: unknown image format (the name must end in %s)\n",
            r->output, CLI_OUT_FORMATS);
    return 0;
  }
  const cli_named_file inputs[] = {{image, "the input image"},
                                   {o->weights, "the --weights file"},
                                   {o->detector, "the --detector file"},
                                   {r->json, "the --json output"}};
  if (!cli_output_check(r->output, inputs, 4, why, sizeof why)) {
    fprintf(stderr, "lnlfer annotate: not writing %s: %s\n", r->output, why);
    return 0;
  }
  const cli_named_file for_json[] = {{image, "the input image"},
                                     {o->weights, "the --weights file"},
                                     {o->detector, "the --detector file"}};
  if (r->json && !cli_output_check(r->json, for_json, 3, why, sizeof why)) {
    fprintf(stderr, "lnlfer annotate: not writing %s: %s\n", r->json, why);
    return 0;
  }
  return 1;
}

int cmd_annotate(int argc, char **argv) {
  static const struct option extra[] = {{"output", required_argument, NULL, 'o'},
                                        {"json", required_argument, NULL, OPT_JSON},
                                        {"labels", required_argument, NULL, OPT_LABELS},
                                        {"no-boxes", no_argument, NULL, OPT_NO_BOXES},
                                        {"no-region-map", no_argument, NULL, OPT_NO_MAP},
                                        {"opacity", required_argument, NULL, OPT_OPACITY},
                                        {"colormap", required_argument, NULL, OPT_COLORMAP},
                                        {NULL, 0, NULL, 0}};
  cli_options o = {.format = CLI_FORMAT_JSON};
  run r = {
      .style = {1, 0.6, LNLR_CMAP_TURBO, 1, LNLR_LABELS_TOP, {"Region weight", "low", "high"}}};
  int status =
      cli_parse(argc, argv, "annotate", CLI_WEIGHTS | CLI_DETECTOR | CLI_DETECTION | CLI_THREADS,
                extra, annotate_option, &r, help, &o);
  if (status >= 0) return status;
  if (!r.output || o.first_image != argc - 1) {
    fprintf(stderr, r.output ? "lnlfer annotate: give one image\n"
                             : "lnlfer annotate: -o OUT is required\n");
    help(stderr);
    return 2;
  }
  if (!outputs_allowed(&r, argv[o.first_image], &o)) return 2;
  if (!cli_engine_open(&r.engine, &o, CLI_WEIGHTS | CLI_DETECTOR)) return 1;
  status = cli_each_image(argc, argv, o.first_image, annotate_one, &r);
  cli_engine_close(&r.engine);
  return status;
}
