/* libFuzzer target for the weights loader: lnl_model_open_memory runs the
 * safetensors parser, the lnl.config parser and the tensor binder on the input.
 * Built with -Dfuzz=true (clang); seeds in tests/fuzz-corpus/. */
#include <stddef.h>
#include <stdint.h>

#include "lnlfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lnl_model *model = NULL;
  lnl_error err;
  if (lnl_model_open_memory(data, size, &model, &err) == LNL_OK) {
    /* touch what a caller reads first */
    (void)lnl_model_num_classes(model);
    (void)lnl_model_class_name(model, 0);
    (void)lnl_model_metadata(model, "lnl.config");
    lnl_model_close(model);
  } else if (model != NULL || err.message[0] == '\0') {
    __builtin_trap(); /* a failure must leave no model and say why */
  }
  return 0;
}
