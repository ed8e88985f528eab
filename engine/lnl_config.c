#include "lnl_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "lnl_error.h"

#define MAX_SIDE 1024
#define MAX_WIDTH 4096

static lnl_status get_int(const cJSON *root, const char *key, int lo, int hi, int *out,
                          lnl_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: '%s' is missing or not an integer", key);
  if (v->valuedouble < lo || v->valuedouble > hi)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: '%s' = %g is outside [%d, %d]", key,
                    v->valuedouble, lo, hi);
  *out = (int)v->valuedouble;
  return LNL_OK;
}

static lnl_status get_float(const cJSON *root, const char *key, float *out, lnl_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsNumber(v) || !isfinite((float)v->valuedouble))
    return lnl_fail(err, LNL_ERR_MODEL, "model config: '%s' is missing or not a number", key);
  *out = (float)v->valuedouble;
  return LNL_OK;
}

static lnl_status get_int_list(const cJSON *root, const char *key, int *out, int count, int lo,
                               int hi, lnl_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != count)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: '%s' must be a list of %d integers", key,
                    count);
  for (int i = 0; i < count; i++) {
    const cJSON *e = cJSON_GetArrayItem(v, i);
    if (!cJSON_IsNumber(e) || floor(e->valuedouble) != e->valuedouble || e->valuedouble < lo ||
        e->valuedouble > hi)
      return lnl_fail(err, LNL_ERR_MODEL, "model config: '%s'[%d] is not an integer in [%d, %d]",
                      key, i, lo, hi);
    out[i] = (int)e->valuedouble;
  }
  return LNL_OK;
}

static lnl_status parse_classes(const cJSON *root, lnl_config *cfg, lnl_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "classes");
  int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
  if (n < 2 || n > LNL_MAX_CLASSES)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'classes' must list 2 to %d names",
                    LNL_MAX_CLASSES);
  for (int i = 0; i < n; i++) {
    const cJSON *e = cJSON_GetArrayItem(v, i);
    if (!cJSON_IsString(e) || strlen(e->valuestring) == 0 ||
        strlen(e->valuestring) >= LNL_CLASS_NAME_MAX)
      return lnl_fail(err, LNL_ERR_MODEL, "model config: class name %d is not a short string", i);
    strcpy(cfg->class_names[i], e->valuestring);
  }
  cfg->num_classes = n;
  return LNL_OK;
}

/* All regions have one size (the local nets run as one grouped convolution), lie
 * inside F and align with the non-local pooling grid and the local nets' 2x2 pool. */
static lnl_status parse_regions(const cJSON *root, lnl_config *cfg, lnl_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "regions");
  int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
  if (n < 1 || n > LNL_MAX_REGIONS)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'regions' must list 1 to %d rectangles",
                    LNL_MAX_REGIONS);
  int fs = cfg->feature_size, p = cfg->nonlocal_pool;
  for (int i = 0; i < n; i++) {
    const cJSON *e = cJSON_GetArrayItem(v, i);
    int *r = cfg->regions[i];
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 4)
      return lnl_fail(err, LNL_ERR_MODEL, "model config: region %d is not [x, y, w, h]", i);
    for (int k = 0; k < 4; k++) {
      const cJSON *x = cJSON_GetArrayItem(e, k);
      if (!cJSON_IsNumber(x) || floor(x->valuedouble) != x->valuedouble ||
          fabs(x->valuedouble) > MAX_SIDE)
        return lnl_fail(err, LNL_ERR_MODEL, "model config: region %d is not 4 integers", i);
      r[k] = (int)x->valuedouble;
    }
    if (r[0] < 0 || r[1] < 0 || r[2] < 2 || r[3] < 2 || r[0] + r[2] > fs || r[1] + r[3] > fs)
      return lnl_fail(err, LNL_ERR_MODEL, "model config: region %d lies outside the %dx%d features",
                      i, fs, fs);
    if (r[2] != cfg->regions[0][2] || r[3] != cfg->regions[0][3])
      return lnl_fail(err, LNL_ERR_MODEL, "model config: region %d differs in size from region 0",
                      i);
    if (r[0] % p || r[1] % p || r[2] % p || r[3] % p || r[2] % 2 || r[3] % 2)
      return lnl_fail(err, LNL_ERR_MODEL,
                      "model config: region %d is not aligned to the pooling grid of %d", i, p);
  }
  cfg->num_regions = n;
  return LNL_OK;
}

static lnl_status parse_fields(const cJSON *root, lnl_config *cfg, lnl_error *err) {
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
  if (!cJSON_IsString(format) || strcmp(format->valuestring, "lnlfer-lnlnet") != 0)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'format' is not \"lnlfer-lnlnet\"");
  int version = 0;
  lnl_status s;
  if ((s = get_int(root, "version", 1, 1000, &version, err))) return s;
  if (version != 1)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: version %d is newer than this engine (1)",
                    version);
  if ((s = parse_classes(root, cfg, err))) return s;
  if ((s = get_int(root, "input_size", 8, MAX_SIDE, &cfg->input_size, err))) return s;
  if (cfg->input_size % 8)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'input_size' must be a multiple of 8");
  if ((s = get_int(root, "input_channels", 1, 3, &cfg->input_channels, err))) return s;
  if (cfg->input_channels == 2)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'input_channels' must be 1 or 3");
  if ((s = get_float(root, "mean", &cfg->mean, err))) return s;
  if ((s = get_float(root, "std", &cfg->std, err))) return s;
  if (!(cfg->std > 0.0f)) return lnl_fail(err, LNL_ERR_MODEL, "model config: 'std' must be > 0");
  if ((s = get_int_list(root, "unet_widths", cfg->widths, 4, 1, MAX_WIDTH, err))) return s;
  cfg->dec_widths[0] = cfg->widths[2];
  cfg->dec_widths[1] = cfg->widths[1];
  if (cJSON_GetObjectItemCaseSensitive(root, "decoder_widths") &&
      (s = get_int_list(root, "decoder_widths", cfg->dec_widths, 2, 1, MAX_WIDTH, err)))
    return s;
  if ((s = get_int(root, "feature_channels", 1, MAX_WIDTH, &cfg->feature_channels, err))) return s;
  if ((s = get_int(root, "local_width", 1, MAX_WIDTH, &cfg->local_width, err))) return s;
  if ((s = get_int(root, "nonlocal_pool", 1, 16, &cfg->nonlocal_pool, err))) return s;
  if ((s = get_int(root, "nonlocal_inner", 1, MAX_WIDTH, &cfg->nonlocal_inner, err))) return s;
  if ((s = get_int(root, "attention_hidden", 1, MAX_WIDTH, &cfg->attention_hidden, err))) return s;
  cfg->global_pool = 1;
  if (cJSON_GetObjectItemCaseSensitive(root, "global_hidden") &&
      (s = get_int(root, "global_hidden", 0, MAX_WIDTH, &cfg->global_hidden, err)))
    return s;
  if (cJSON_GetObjectItemCaseSensitive(root, "global_pool") &&
      (s = get_int(root, "global_pool", 1, 16, &cfg->global_pool, err)))
    return s;
  if (cfg->global_hidden && (cfg->input_size / 8) % cfg->global_pool)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'global_pool' does not divide %d",
                    cfg->input_size / 8);
  if ((s = get_float(root, "bn_eps", &cfg->bn_eps, err))) return s;
  if (!(cfg->bn_eps > 0.0f))
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'bn_eps' must be > 0");
  cfg->feature_size = cfg->input_size / 2;
  if (cfg->feature_size % cfg->nonlocal_pool)
    return lnl_fail(err, LNL_ERR_MODEL, "model config: 'nonlocal_pool' does not divide %d",
                    cfg->feature_size);
  return parse_regions(root, cfg, err);
}

lnl_status lnl_config_parse(const char *json, lnl_config *cfg, lnl_error *err) {
  memset(cfg, 0, sizeof *cfg);
  if (!json)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "the weights file has no '%s' metadata: not an lnlfer model", LNL_CONFIG_KEY);
  cJSON *root = cJSON_ParseWithOpts(json, NULL, 1); /* nothing may follow the object */
  if (!root)
    return lnl_fail(err, LNL_ERR_MODEL, "the '%s' metadata is not valid JSON", LNL_CONFIG_KEY);
  lnl_status s =
      cJSON_IsObject(root)
          ? parse_fields(root, cfg, err)
          : lnl_fail(err, LNL_ERR_MODEL, "the '%s' metadata is not a JSON object", LNL_CONFIG_KEY);
  cJSON_Delete(root);
  return s;
}
