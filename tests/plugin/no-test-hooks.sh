#!/bin/sh
# The shipped plug-in carries no test hook: none of the test build's environment variables
# or messages is in its binary (strings), while the test build (plugin/testing.c) has them,
# so that this check can see them.
# usage: no-test-hooks.sh PLUGIN TEST-BUILD
set -u
PLUGIN=$1 TESTING=$2
status=0
for word in LNLFER_TEST_CANCEL LNLFER_TEST_FAIL_ANNOTATION LNLFER_REPORT_MEMORY "peak memory" \
  __wrap_ __real_; do
  if strings -a "$PLUGIN" | grep -q -- "$word"; then
    echo "FAIL: the shipped plug-in $PLUGIN contains \"$word\""
    status=1
  fi
done
for word in LNLFER_TEST_CANCEL LNLFER_TEST_FAIL_ANNOTATION "peak memory"; do
  if ! strings -a "$TESTING" | grep -q -- "$word"; then
    echo "FAIL: the test build $TESTING has no \"$word\" (this check would see nothing)"
    status=1
  fi
done
[ $status -ne 0 ] || echo "PASS: no test hook in $PLUGIN"
exit $status
