/* lnlfer classify: each image is an already-cut face. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum { FORMAT_CSV, FORMAT_JSON } output_format;

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

static cJSON *json_result(const lnl_model *model, const char *file, const lnl_image *img,
                          const lnl_result *res) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "file", file);
  cJSON_AddNumberToObject(o, "width", img->width);
  cJSON_AddNumberToObject(o, "height", img->height);
  cJSON_AddStringToObject(o, "label", lnl_model_class_name(model, res->label));
  cJSON *probs = cJSON_AddObjectToObject(o, "probabilities");
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    cJSON_AddNumberToObject(probs, lnl_model_class_name(model, k), res->probs[k]);
  cJSON *regions = cJSON_AddArrayToObject(o, "regions");
  for (int r = 0; r < lnl_model_num_regions(model); r++) {
    cJSON *reg = cJSON_CreateObject();
    const lnl_rect *b = &res->regions[r];
    float box[4] = {b->x, b->y, b->w, b->h};
    cJSON_AddItemToObject(reg, "box", cJSON_CreateFloatArray(box, 4));
    cJSON_AddNumberToObject(reg, "weight", res->weights[r]);
    cJSON_AddItemToArray(regions, reg);
  }
  return o;
}

int cmd_classify(int argc, char **argv) {
  static const struct option opts[] = {{"weights", required_argument, NULL, 'w'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *weights = NULL;
  output_format format = FORMAT_CSV;
  int threads = 1, c;
  while ((c = getopt_long(argc, argv, "w:f:t:h", opts, NULL)) != -1) {
    switch (c) {
    case 'w': weights = optarg; break;
    case 'f':
      if (strcmp(optarg, "csv") == 0)
        format = FORMAT_CSV;
      else if (strcmp(optarg, "json") == 0)
        format = FORMAT_JSON;
      else {
        fprintf(stderr, "lnlfer classify: --format must be csv or json, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 't':
      threads = atoi(optarg);
      if (threads < 1 || threads > 64) {
        fprintf(stderr, "lnlfer classify: --threads must be between 1 and 64\n");
        return 2;
      }
      break;
    case 'h': help(stdout); return 0;
    default: help(stderr); return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "lnlfer classify: no image given\n");
    help(stderr);
    return 2;
  }
  lnl_model *model = cli_open_model(weights);
  if (!model) return 1;
  lnl_context *ctx = NULL;
  lnl_error err = {0};
  if (lnl_context_new(model, threads, &ctx, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s\n", err.message);
    lnl_model_close(model);
    return 1;
  }
  int failures = 0;
  cJSON *all = format == FORMAT_JSON ? cJSON_CreateArray() : NULL;
  if (format == FORMAT_CSV) csv_header(stdout, model);
  for (int i = optind; i < argc; i++) {
    cli_image img;
    char why[256];
    if (!cli_image_load(argv[i], &img, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: cannot read image: %s\n", argv[i], why);
      failures++;
      continue;
    }
    lnl_image view = cli_image_view(&img);
    lnl_result res;
    if (lnl_classify(ctx, &view, 1, &res, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s: %s\n", argv[i], err.message);
      failures++;
    } else if (format == FORMAT_CSV) {
      csv_row(stdout, model, argv[i], &res);
    } else {
      cJSON_AddItemToArray(all, json_result(model, argv[i], &view, &res));
    }
    cli_image_free(&img);
  }
  if (all) {
    char *text = cJSON_Print(all);
    if (text) puts(text);
    free(text);
    cJSON_Delete(all);
  }
  lnl_context_free(ctx);
  lnl_model_close(model);
  return failures ? 1 : 0;
}
