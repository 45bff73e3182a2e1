#!/usr/bin/env bash
# One handle shared by 4 threads through an appliance restart, with HMACs small and streamed (over
# the frame limit): every result equals OpenSSL's, few calls fail, and — built with ThreadSanitizer
# when the compiler has it — no data race in the library.
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/threads" ] || skip "tests not built"
APP_ARGS="--max-frame 65536"
setup_all

run() { # BINARY LABEL
  "$1" k1 "$T/k1.key" 4 5 >"$T/out" 2>"$T/err" &
  local pid=$! rc=0
  sleep 2
  stop_appliance
  start_appliance
  wait $pid || rc=$?
  if grep -q "WARNING: ThreadSanitizer" "$T/err"; then head -60 "$T/err"; fail "$2: data race"; fi
  [ $rc -eq 0 ] || { head -20 "$T/err"; fail "$2: exit $rc ($(cat "$T/out"))"; }
  read -r okc failc < <(sed 's/ok=\([0-9]*\) failed=\([0-9]*\).*/\1 \2/' "$T/out")
  [ "$okc" -gt 50 ] || fail "$2: only $okc calls succeeded"
  [ "$failc" -le 16 ] || { head -5 "$T/err"; fail "$2: $failc calls failed"; }
  ok "$2: $(cat "$T/out")"
}

run "$TBIN/threads" "4 threads, one handle"
if make -s -C "$CDIR" build/tests/threads_tsan >"$T/tsan-build" 2>&1 && "$TBIN/threads_tsan" 2>/dev/null; [ $? -eq 2 ]; then
  run "$TBIN/threads_tsan" "the same under ThreadSanitizer"
else
  echo "ThreadSanitizer not available here: $(head -1 "$T/tsan-build")"
fi
