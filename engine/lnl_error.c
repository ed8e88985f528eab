#include "lnl_error.h"

#include <stdarg.h>
#include <stdio.h>

lnl_status lnl_fail(lnl_error *err, lnl_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *lnl_status_name(lnl_status status) {
  switch (status) {
  case LNL_OK: return "ok";
  case LNL_ERR_IO: return "input/output error";
  case LNL_ERR_FORMAT: return "invalid weights file";
  case LNL_ERR_MODEL: return "unsupported model";
  case LNL_ERR_ARGUMENT: return "invalid argument";
  case LNL_ERR_MEMORY: return "out of memory";
  case LNL_ERR_CANCELLED: return "cancelled";
  }
  return "unknown error";
}
