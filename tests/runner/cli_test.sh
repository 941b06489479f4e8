#!/usr/bin/env bash
# `orderflow sim` from the outside: exit codes (0 passed, 1 a check failed, 2 bad
# usage or a bad scenario file), the messages a person acts on, and the files the
# sweep writes. Usage: cli_test.sh PATH/TO/orderflow
set -uo pipefail
orderflow=${1:?usage: cli_test.sh PATH/TO/orderflow}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0

fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
}

# expect_exit CODE DESCRIPTION COMMAND...: runs the command with its output in
# $scratch/out and $scratch/err.
expect_exit() {
  local want=$1 what=$2
  shift 2
  "$@" >"$scratch/out" 2>"$scratch/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    passed=$((passed + 1))
  else
    fail "$what: exit $got, expected $want"
    sed 's/^/  out: /' "$scratch/out" | head -20
    sed 's/^/  err: /' "$scratch/err" | head -20
  fi
}

# expect_in FILE TEXT DESCRIPTION
expect_in() {
  if grep -qF -- "$2" "$1"; then
    passed=$((passed + 1))
  else
    fail "$3: \"$2\" not in $(basename "$1")"
    sed 's/^/  | /' "$1" | head -20
  fi
}

# One instance of everything and a few orders: under a second a run with sanitizers.
cat >"$scratch/tiny.textproto" <<'EOF'
name: "tiny"
topology { orders: 1 shipping: 1 query: 1 brokers: 1 partitions: 1 }
workload { orders_per_second: 5 cancel_ratio: 0.2 }
duration: "2s"
liveness_window: "10s"
EOF

# An unknown field on line 3.
cat >"$scratch/bad.textproto" <<'EOF'
name: "bad"
duration: "3s"
orders_per_minute: 5
EOF

# A fault on a process the topology does not have, on line 4.
cat >"$scratch/bad-target.textproto" <<'EOF'
name: "bad-target"
topology { orders: 1 }
duration: "3s"
faults { at: "1s" kind: CRASH target: "orders-2" }
EOF

expect_exit 2 "run with an unknown field" "$orderflow" sim run --scenario "$scratch/bad.textproto"
expect_in "$scratch/err" "bad.textproto:3:" "unknown field message names file and line"
expect_in "$scratch/err" "orders_per_minute" "unknown field message names the field"

expect_exit 2 "run with a bad fault target" \
  "$orderflow" sim run --scenario "$scratch/bad-target.textproto"
expect_in "$scratch/err" "bad-target.textproto:4:" "bad target message names file and line"
expect_in "$scratch/err" "orders-2" "bad target message names the process"

expect_exit 2 "run of a missing file" "$orderflow" sim run --scenario "$scratch/nothing.textproto"
expect_in "$scratch/err" "nothing.textproto" "missing file message names the file"

expect_exit 2 "run without --scenario" "$orderflow" sim run --seed 3
expect_exit 2 "sim without a subcommand" "$orderflow" sim
expect_exit 2 "sweep with one bad file among good ones" \
  "$orderflow" sim sweep --scenario "$scratch/tiny.textproto" "$scratch/bad.textproto" --seeds 1
expect_in "$scratch/err" "bad.textproto:3:" "sweep names the bad file and line"
expect_exit 2 "sweep with --seeds 0" \
  "$orderflow" sim sweep --scenario "$scratch/tiny.textproto" --seeds 0

expect_exit 0 "run of a passing scenario" \
  "$orderflow" sim run --scenario "$scratch/tiny.textproto" --seed 3
expect_in "$scratch/out" "PASSED" "run reports the verdict"
expect_in "$scratch/out" "trace hash" "run reports the trace hash"
expect_in "$scratch/out" "seed 3" "run reports the seed"

expect_exit 0 "sweep of two seeds" "$orderflow" sim sweep --scenario "$scratch/tiny.textproto" \
  --seeds 2 --junit "$scratch/out.xml"
if [ -f "$scratch/out.xml" ]; then
  cases=$(grep -o '<testcase ' "$scratch/out.xml" | wc -l)
  if [ "$cases" -eq 2 ]; then passed=$((passed + 1)); else fail "junit has $cases testcases"; fi
  expect_in "$scratch/out.xml" 'tests="2" failures="0"' "junit counts the seeds"
  expect_in "$scratch/out.xml" 'name="seed-1"' "junit names seed 1"
  expect_in "$scratch/out.xml" 'name="seed-2"' "junit names seed 2"
  expect_in "$scratch/out.xml" "</testsuites>" "junit is complete"
  if grep -q '<failure' "$scratch/out.xml"; then fail "junit reports a failure"; fi
else
  fail "sweep wrote no junit file"
fi

expect_exit 0 "check-determinism of two seeds" \
  "$orderflow" sim check-determinism --scenario "$scratch/tiny.textproto" --seeds 2
expect_in "$scratch/out" "identical traces" "check-determinism reports identical traces"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
