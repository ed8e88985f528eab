/* lnlfer classify: each image is an already-cut face. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"
#include "lnlfer-json.h"

static void help(FILE *out) {
  fprintf(out,
          "usage: lnlfer classify [--weights FILE] [--format csv|json] [--threads N] IMAGE...\n"
          "\n"
          "Treats each image as an already-cropped face and prints the expression\n"
          "probabilities and the region weights of the LNL network.\n"
          "\n"
          "  --weights FILE   weights file (default: the shipped weights)\n"
          "  --format FORMAT  csv (default) or json\n"
          "  --threads N      threads for the network (default 1)\n");
}

static void csv_header(FILE *out, const lnl_model *model) {
  fputs("file,label", out);
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    fprintf(out, ",%s", lnl_model_class_name(model, k));
  for (int r = 0; r < lnl_model_num_regions(model); r++) fprintf(out, ",w%d", r);
  fputc('\n', out);
}

static void csv_row(FILE *out, const lnl_model *model, const char *file, const lnl_result *res) {
  cli_csv_field(out, file);
  fprintf(out, ",%s", lnl_model_class_name(model, res->label));
  for (int k = 0; k < lnl_model_num_classes(model); k++) fprintf(out, ",%.6f", res->probs[k]);
  for (int r = 0; r < lnl_model_num_regions(model); r++) fprintf(out, ",%.6f", res->weights[r]);
  fputc('\n', out);
}

static cJSON *json_result(const cli_engine *e, const char *file, const lnl_image *img,
                          const lnl_result *res) {
  cJSON *o = cli_json_image(file, img);
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

typedef struct run {
  cli_engine engine;
  cli_format format;
  cJSON *all;
} run;

static int classify_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  lnl_result res;
  lnl_error err = {0};
  if (lnl_classify(r->engine.ctx, img, 1, &res, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return 1;
  }
  if (r->format == CLI_FORMAT_CSV)
    csv_row(stdout, r->engine.model, path, &res);
  else
    cJSON_AddItemToArray(r->all, json_result(&r->engine, path, img, &res));
  return 0;
}

int cmd_classify(int argc, char **argv) {
  cli_options o = {.format = CLI_FORMAT_CSV};
  int status = cli_parse(argc, argv, "classify", CLI_WEIGHTS | CLI_FORMAT | CLI_THREADS, NULL, NULL,
                         NULL, help, &o);
  if (status >= 0) return status;
  run r = {.format = o.format};
  if (!cli_engine_open(&r.engine, &o, CLI_WEIGHTS)) return 1;
  if (r.format == CLI_FORMAT_CSV)
    csv_header(stdout, r.engine.model);
  else
    r.all = cJSON_CreateArray();
  int failures = cli_each_image(argc, argv, o.first_image, classify_one, &r);
  if (r.all) cli_print_json(r.all, 1);
  cli_engine_close(&r.engine);
  return failures ? 1 : 0;
}
