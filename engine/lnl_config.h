/* The network's hyperparameters, read from the weights file's metadata key
 * "lnl.config" (written by tools/train/export.py from tools/train/config.json). */
#ifndef LNL_CONFIG_H
#define LNL_CONFIG_H

#include "lnlfer.h"

#define LNL_CONFIG_KEY "lnl.config"
#define LNL_CLASS_NAME_MAX 32

typedef struct lnl_config {
  int num_classes;
  char class_names[LNL_MAX_CLASSES][LNL_CLASS_NAME_MAX];
  int input_size;     /* square network input side */
  int input_channels; /* 1 = grey, 3 = RGB */
  float mean, std;    /* applied to pixel / 255 */
  int widths[4];      /* U-Net encoder widths */
  int dec_widths[2];  /* U-Net decoder widths at 1/4 and 1/2 of the input ("decoder_widths";
                         default: the encoder's widths[2], widths[1]) */
  int feature_channels;
  int feature_size; /* side of F = input_size / 2 */
  int num_regions;
  int regions[LNL_MAX_REGIONS][4]; /* x, y, w, h in feature-map cells */
  int local_width;
  int nonlocal_pool;
  int nonlocal_inner;
  int attention_hidden;
  int global_hidden; /* 0: the global feature is the bottleneck's mean; else the bottleneck
                        average-pooled to global_pool x global_pool, flattened channel-major,
                        then a linear layer of this width and ReLU */
  int global_pool;
  float bn_eps;
} lnl_config;

/* Parses and validates; refuses, with a message naming the field, any value
 * this engine cannot run. */
lnl_status lnl_config_parse(const char *json, lnl_config *cfg, lnl_error *err);

#endif
