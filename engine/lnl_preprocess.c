#include "lnl_preprocess.h"

#include "lnl_error.h"
#include "lnl_resample.h"

lnl_status lnl_preprocess_crop(const lnl_config *cfg, const lnl_image *crop, float *out,
                               lnl_error *err) {
  int S = cfg->input_size;
  lnl_window win = {0.0, 0.0, (double)crop->width / S, (double)crop->height / S, S, S};
  lnl_status s = lnl_resample(crop, &win, cfg->input_channels == 1, out, err);
  if (s) return s;
  size_t n = (size_t)cfg->input_channels * S * S;
  for (size_t i = 0; i < n; i++) out[i] = (out[i] / 255.0f - cfg->mean) / cfg->std;
  return LNL_OK;
}
