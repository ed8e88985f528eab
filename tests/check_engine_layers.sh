#!/bin/sh
# The engine's operator layers (README "Engine library"): kernels (lnl_kernels) and the
# layout-free pieces (lnl_vector) under the two layout operator files, channels-first
# (lnl_ops) and channels-last (lnl_nhwc), which do not include each other, under the
# networks (lnl_graph, lnl_net). Fails when a file includes a header of its own layer's
# sibling or of a layer above it.
# usage: check_engine_layers.sh SOURCE_ROOT
root=${1:?usage: check_engine_layers.sh SOURCE_ROOT}
status=0
# file stem: the engine headers it must not include
forbid() {
  for f in "$root/engine/$1.c" "$root/engine/$1.h"; do
    [ -f "$f" ] || continue
    for h in $2; do
      if grep -qE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$h\.h\"" "$f"; then
        echo "$(basename "$f") includes $h.h: a sideways or upward call between layers" >&2
        status=1
      fi
    done
  done
}
above_ops="lnl_graph lnl_net lnl_detector lnl_model"
forbid lnl_kernels "lnl_vector lnl_ops lnl_nhwc $above_ops"
forbid lnl_vector "lnl_kernels lnl_ops lnl_nhwc $above_ops"
forbid lnl_ops "lnl_nhwc $above_ops"
forbid lnl_nhwc "lnl_ops $above_ops"
forbid lnl_graph "lnl_nhwc lnl_net"
forbid lnl_net "lnl_ops lnl_graph"
[ $status -eq 0 ] && echo "the engine's layers call only downwards"
exit $status
