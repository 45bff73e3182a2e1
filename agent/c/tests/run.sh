#!/usr/bin/env bash
# Runs every t*.sh; exit 77 = skipped (counted as neither). Last line: "N passed, N failed".
cd "$(dirname "$0")" || exit 1
passed=0
failed=0
skipped=0
for t in t*.sh; do
  start=$(date +%s)
  out=$(bash "$t" 2>&1)
  rc=$?
  took=$(($(date +%s) - start))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "PASS ${t%.sh} (${took}s)"
  elif [ $rc -eq 77 ]; then
    skipped=$((skipped + 1))
    echo "SKIP ${t%.sh}: $(echo "$out" | grep '^SKIP' | head -1)"
  else
    failed=$((failed + 1))
    echo "FAIL ${t%.sh} (exit $rc)"
    echo "$out" | tail -25 | sed 's/^/    /'
  fi
done
[ $skipped -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
