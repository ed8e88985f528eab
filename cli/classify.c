/* lnlfer classify: each image is an already-cut face. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lnlfer-json.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer classify [--weights FILE] [--align auto|on|off] [--format csv|json]\n"
               "                       [--threads N] IMAGE...\n"
               "\n"
               "Treats each image as an already-cropped face and prints the expression\n"
               "probabilities and the region weights of the LNL network.\n"
               "\n"
               "  --weights FILE   weights file (default: the shipped weights)\n"
               "  --align MODE     on: find the face in the crop and align it first, as the\n"
               "                   faces of a photo are; off: use the crop as it is; auto\n"
               "                   (default): on for weights trained on aligned crops\n"
               "  --detector FILE  detector weights for --align (default: the shipped BlazeFace)\n"
               "  --format FORMAT  csv (default) or json\n"
               "  --threads N      threads for the network (default 1)\n"
               "\n"
               "With alignment, a crop in which no face is found, or whose face does not frame\n"
               "it like a face crop (e.g. a collage), is classified in the framing assumed\n"
               "for a crop (README.md): its CSV column 'aligned' says no (yes when aligned,\n"
               "off without alignment), its JSON \"aligned\" is false, and the exit status\n"
               "is 3 (1 when something failed, 2 for a usage error, 0 otherwise).\n");
}

static void csv_header(FILE *out, const lnl_model *model) {
  fputs("file,label,aligned", out);
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    fprintf(out, ",%s", lnl_model_class_name(model, k));
  for (int r = 0; r < lnl_model_num_regions(model); r++) fprintf(out, ",w%d", r);
  fputc('\n', out);
}

/* `aligned`: 1, 0, or -1 without alignment. */
static void csv_row(FILE *out, const lnl_model *model, const char *file, const lnl_result *res,
                    int aligned) {
  cli_csv_field(out, file);
  fprintf(out, ",%s,%s", lnl_model_class_name(model, res->label),
          aligned > 0    ? "yes"
          : aligned == 0 ? "no"
                         : "off");
  for (int k = 0; k < lnl_model_num_classes(model); k++) fprintf(out, ",%.6f", res->probs[k]);
  for (int r = 0; r < lnl_model_num_regions(model); r++) fprintf(out, ",%.6f", res->weights[r]);
  fputc('\n', out);
}

static cJSON *json_result(const cli_engine *e, const char *file, const lnl_image *img,
                          const lnl_result *res, int aligned) {
  cJSON *o = cli_json_image(file, img);
  if (aligned >= 0) cJSON_AddBoolToObject(o, "aligned", aligned);
  lnlj_add_expression(o, res, e->num_classes, e->class_keys, -1);
  cJSON *regions = cJSON_AddArrayToObject(o, "regions");
  for (int r = 0; r < e->num_regions; r++) {
    cJSON *reg = cJSON_CreateObject();
    const lnl_rect *b = &res->regions[r];
    float box[4] = {b->x, b->y, b->w, b->h};
    cJSON_AddItemToObject(reg, "box", cJSON_CreateFloatArray(box, 4));
    cJSON_AddNumberToObject(reg, "weight", res->weights[r]);
    cJSON_AddItemToArray(regions, reg);
  }
  return o;
}

typedef enum align_mode { ALIGN_AUTO, ALIGN_ON, ALIGN_OFF } align_mode;

typedef struct run {
  cli_engine engine;
  cli_format format;
  align_mode align;
  cJSON *all;
} run;

/* Classifies the crop, or with --align its re-cut (*aligned: whether a face was found in
 * it; -1 without --align); the regions are then in the re-cut's pixels. */
static lnl_status classify_crop(run *r, const lnl_image *img, lnl_result *res, int *aligned,
                                lnl_error *err) {
  *aligned = -1;
  if (r->align != ALIGN_ON) return lnl_classify(r->engine.ctx, img, 1, res, err);
  uint8_t *rgb = NULL;
  int side = 0;
  lnl_status s =
      lnl_align_face_crop(r->engine.model, r->engine.detector, img, &rgb, &side, aligned, err);
  lnl_image cut = {rgb, side, side, (size_t)side * 3};
  if (!s) s = lnl_classify(r->engine.ctx, &cut, 1, res, err);
  free(rgb);
  /* the engine caps the re-cut's side: regions in pixels of the square of the longer side */
  float k = (float)(img->width > img->height ? img->width : img->height) / (float)(side ? side : 1);
  for (int i = 0; !s && i < r->engine.num_regions; i++)
    res->regions[i] = (lnl_rect){res->regions[i].x * k, res->regions[i].y * k,
                                 res->regions[i].w * k, res->regions[i].h * k};
  return s;
}

static int classify_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  lnl_result res;
  lnl_error err = {0};
  int aligned;
  if (classify_crop(r, img, &res, &aligned, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return CLI_EXIT_FAILED;
  }
  if (r->format == CLI_FORMAT_CSV)
    csv_row(stdout, r->engine.model, path, &res, aligned);
  else
    cJSON_AddItemToArray(r->all, json_result(&r->engine, path, img, &res, aligned));
  if (aligned != 0) return CLI_EXIT_OK;
  fprintf(stderr,
          "lnlfer: %s: no face aligned in the crop (none found, or not framed like a face "
          "crop); classified in the framing assumed for a crop\n",
          path);
  return CLI_EXIT_NO_FACE;
}

static int classify_option(int key, const char *arg, void *data) {
  (void)key; /* --align MODE, the only one */
  run *r = data;
  if (strcmp(arg, "auto") == 0)
    r->align = ALIGN_AUTO;
  else if (strcmp(arg, "on") == 0)
    r->align = ALIGN_ON;
  else if (strcmp(arg, "off") == 0)
    r->align = ALIGN_OFF;
  else {
    fprintf(stderr, "lnlfer classify: --align must be auto, on or off, not '%s'\n", arg);
    return 2;
  }
  return 0;
}

int cmd_classify(int argc, char **argv) {
  static const struct option extra[] = {{"align", required_argument, NULL, 'a'},
                                        {NULL, 0, NULL, 0}};
  cli_options o = {.format = CLI_FORMAT_CSV};
  run r = {.align = ALIGN_AUTO};
  int status =
      cli_parse(argc, argv, "classify", CLI_WEIGHTS | CLI_DETECTOR | CLI_FORMAT | CLI_THREADS,
                extra, classify_option, &r, help, &o);
  if (status >= 0) return status;
  r.format = o.format;
  if (!cli_engine_open(&r.engine, &o, CLI_WEIGHTS)) return CLI_EXIT_FAILED;
  if (r.align == ALIGN_AUTO)
    r.align = lnl_model_trained_on_aligned_crops(r.engine.model) ? ALIGN_ON : ALIGN_OFF;
  if (r.align == ALIGN_ON && !(r.engine.detector = cli_open_detector(o.detector))) {
    cli_engine_close(&r.engine);
    return CLI_EXIT_FAILED;
  }
  if (r.format == CLI_FORMAT_CSV)
    csv_header(stdout, r.engine.model);
  else
    r.all = cJSON_CreateArray();
  status = cli_each_image(argc, argv, o.first_image, classify_one, &r);
  if (r.all) cli_print_json(r.all, 1);
  cli_engine_close(&r.engine);
  return status;
}
