/* Face crop -> network input, operation for operation as tools/train/preprocess.py. */
#ifndef LNL_PREPROCESS_H
#define LNL_PREPROCESS_H

#include "lnl_config.h"

lnl_status lnl_preprocess_crop(const lnl_config *cfg, const lnl_image *crop, float *out,
                               lnl_error *err);

#endif
