#!/usr/bin/env bash
# The purity check accepts the real tree and the look-alikes in good/, and rejects
# every file in bad/ on its own.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
check="$root/ci/check-purity"
here="$root/tests/purity"
passed=0
failed=0
expect() {  # expect pass|fail DESCRIPTION DIR
  local want=$1 what=$2 dir=$3 got=fail
  "$check" "$dir" >/dev/null 2>&1 && got=pass
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what: expected the check to $want, it did $got"
  fi
}

expect pass "core and services" "$root/core"
expect pass "look-alikes" "$here/good"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for file in "$here"/bad/*.cc; do
  rm -rf "${scratch:?}"/*
  cp "$file" "$scratch/"
  expect fail "$(basename "$file")" "$scratch"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
