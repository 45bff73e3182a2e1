#!/usr/bin/env bash
# npm test: every check the project has, ending with one line "N passed, N failed".
# Checks: typecheck, lint/format, build, bun tests (each test case counts), C shim tests.
set -u
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
passed=0
failed=0
step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "!! $name FAILED"; fi
}

bash scripts/ensure-system-packages.sh || echo "!! could not install system packages; C tests may fail"

step typecheck tsc --noEmit -p .
step lint biome check .
step build bun scripts/build.ts

mkdir -p .test-results
rm -f .test-results/junit.xml
bun test --reporter=junit --reporter-outfile=.test-results/junit.xml "$@"
bun_status=$?
if [ -f .test-results/junit.xml ]; then
  read -r t f e s < <(bun scripts/junit-count.ts .test-results/junit.xml)
  passed=$((passed + t - f - e - s))
  failed=$((failed + f + e))
  [ "$bun_status" -ne 0 ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ] && failed=$((failed + 1)) && echo "!! bun test exited $bun_status"
else
  failed=$((failed + 1))
  echo "!! bun test produced no report"
fi

if [ -x agent/c/tests/run.sh ]; then
  # (not `tee /dev/stderr`: when stderr is a file, reopening it truncates the log)
  c_out=$(agent/c/tests/run.sh 2>&1)
  echo "$c_out"
  read -r cp cf < <(echo "$c_out" | tail -n 1 | awk '{print $1, $3}')
  passed=$((passed + ${cp:-0}))
  failed=$((failed + ${cf:-1}))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
