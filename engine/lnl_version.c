#include "lnlfer.h"

/* LNLFER_VERSION comes from the build (engine/meson.build: the project version). */
const char *lnl_version(void) { return LNLFER_VERSION; }
