#!/bin/sh
# scripts/install-deps while another apt holds the lock: it waits, saying so, and installs once
# the lock is free; it gives up with a message when the wait runs out. apt-get, dpkg-query and
# sudo are stand-ins on PATH (no package is installed): apt-get fails on the lock as many
# times as its counter file says, then succeeds.
# usage: test_install_deps.sh SCRIPTS_INSTALL_DEPS
set -u
DEPS=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() {
  echo "FAIL: $1"
  fail=1
}

mkdir "$tmp/bin"
cat >"$tmp/bin/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_APT/calls"
left=$(cat "$FAKE_APT/locked")
if [ "$left" -gt 0 ]; then
  echo $((left - 1)) >"$FAKE_APT/locked"
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  exit 100
fi
exit 0
SH
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/dpkg-query" # every package missing
printf '#!/bin/sh\nexec "$@"\n' >"$tmp/bin/sudo"
chmod +x "$tmp/bin"/*
export FAKE_APT=$tmp PATH="$tmp/bin:$PATH"

# locked twice, then free: waits (two messages), runs update and install
echo 2 >"$tmp/locked"
LNLFER_APT_LOCK_WAIT=60 "$DEPS" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq 0 ] && ok "waits for the lock, then succeeds" || bad "exit status $status: $(cat "$tmp/err")"
[ "$(grep -c "waiting for another apt to finish" "$tmp/err")" -eq 2 ] &&
  ok "says it is waiting, each time" || bad "waiting messages: $(cat "$tmp/err")"
grep -q "apt-get .* install -y" "$tmp/calls" && [ "$(grep -c " update" "$tmp/calls")" -eq 3 ] &&
  ok "update retried until the lock was free, then install" || bad "calls: $(cat "$tmp/calls")"

# locked for good, a wait of 1 s: gives up, says so, fails
echo 1000 >"$tmp/locked"
: >"$tmp/calls"
LNLFER_APT_LOCK_WAIT=1 "$DEPS" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -ne 0 ] && grep -q "gave up after waiting 1 s for apt's lock" "$tmp/err" &&
  ok "gives up when the wait runs out" || bad "give up: status $status, $(cat "$tmp/err")"
! grep -q " install " "$tmp/calls" && ok "nothing installed without the lock" ||
  bad "install ran without the lock: $(cat "$tmp/calls")"

exit $fail
