#!/bin/sh
# The engine's clients (cli/, ui/, plugin/) include its public header only: no internal
# engine header (engine/lnl_*.h), by any path; and engine/include holds lnlfer.h alone.
# usage: check_public_includes.sh SOURCE_ROOT
root=${1:?usage: check_public_includes.sh SOURCE_ROOT}
status=0
internal=$(cd "$root/engine" && ls lnl_*.h | sed 's/\./\\./g' | paste -sd'|' -)
for dir in cli ui plugin; do
  [ -d "$root/$dir" ] || continue
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]([^\">]*/)?($internal)[\">]" \
    --include='*.c' --include='*.h' "$root/$dir")
  if [ -n "$hits" ]; then
    echo "an internal engine header is included by a client:" >&2
    echo "$hits" >&2
    status=1
  fi
done
extra=$(cd "$root/engine/include" && ls | grep -vx 'lnlfer.h')
if [ -n "$extra" ]; then
  echo "engine/include must hold the public header alone; also there: $extra" >&2
  status=1
fi
[ $status -eq 0 ] && echo "clients include the public header only"
exit $status
