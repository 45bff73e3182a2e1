#!/usr/bin/env bash
# A misbehaving appliance cannot make a client overflow a buffer or write escape sequences to a
# terminal: a MAC of the wrong size is BAD_FRAME, a hostile error message is made printable.
# Nor can it hold a client past io_timeout_ms: an answer trickled byte by byte, a flood of answers
# to other requests and an appliance that stops reading a large request are TIMEOUT after ~1 s
# (each run under `timeout 10`: a client that hangs fails the test). And a call that succeeds after
# a failed reconnect attempt leaves no message behind.
. "$(dirname "$0")/lib.sh"
[ -x "$TOOL" ] || skip "vhsm-tool not built (make -C agent/c)"
[ -x "$TBIN/hostile" ] || skip "tests not built"
command -v python3 >/dev/null || skip "python3 not installed"
FAKE_PID=
fake() { # MODE
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  mkdir -p "$(dirname "$VHSM_SOCKET")"
  python3 "$HERE/fake_appliance.py" "$VHSM_SOCKET" "$1" >"$T/fake.out" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 1 100); do grep -q ready "$T/fake.out" 2>/dev/null && return 0; sleep 0.05; done
  fail "fake appliance did not start: $(cat "$T/fake.out")"
}
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; cleanup' EXIT
echo data >"$T/d"

fake mac64
out=$("$TOOL" hmac k1 sha256 <"$T/d" 2>&1) && fail "a 64-byte HMAC-SHA256 was accepted: $out"
echo "$out" | grep -q "BAD_FRAME" || fail "expected BAD_FRAME, got: $out"
echo "$out" | grep -q "64-byte MAC for a 32-byte hash" || fail "expected the sizes in the message: $out"
out=$(ossl_vhsm mac -propquery '?provider=vhsm' -macopt digest:SHA256 -macopt key-id:k1 -in "$T/d" HMAC 2>&1) &&
  fail "the provider accepted a 64-byte HMAC-SHA256: $out"
out=$("$TOOL" digest sha1 <"$T/d" 2>&1) && fail "a 64-byte SHA-1 was accepted: $out"

fake errctl
out=$("$TOOL" random 16 2>&1) && fail "an error answer succeeded: $out"
printf '%s' "$out" | grep -q $'\x1b' && fail "an escape sequence reached the terminal: $(printf '%s' "$out" | od -c | head -5)"
[ "$(printf '%s' "$out" | grep -c 'OK: forged')" -le 1 ] || fail "a forged line: $out"
printf '%s' "$out" | grep -q 'no such key?\[31m??vhsm-tool: OK: forged' || fail "the message was not made printable: $out"
ok "wrong-size MACs and digests are BAD_FRAME; hostile messages are printable"

for mode in trickle flood stall flaky; do
  fake "$mode"
  start=$(date +%s%N)
  out=$(timeout 10 "$TBIN/hostile" "$mode" 2>&1) || fail "$mode (exit $?, 124: hung): $out"
  ok "$mode in $((($(date +%s%N) - start) / 1000000)) ms"
done
ok "trickled, flooded and unread exchanges end at io_timeout_ms; a retried call that succeeds has no message"
