#!/usr/bin/env bash
# vhsm_sign_many: 64 pipelined Ed25519 and ECDSA P-256 signatures verified with OpenSSL against the
# exported public keys (under valgrind: no errors, no leaks), one of each with the openssl CLI; then
# batches of 16 in a loop across an appliance restart cost at most a few batches.
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/sign_many" ] || skip "tests not built"
setup_all
if command -v valgrind >/dev/null; then
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$TBIN/sign_many" "$T" || fail "sign_many (valgrind exit $?)"
else
  "$TBIN/sign_many" "$T" || fail "sign_many"
fi
openssl pkeyutl -verify -pubin -inkey "$T/ed25519.pub" -rawin -in "$T/ed25519.msg" -sigfile "$T/ed25519.sig" \
  >/dev/null || fail "openssl verify ed25519"
openssl dgst -sha256 -verify "$T/p256.pub" -signature "$T/p256.sig" "$T/p256.msg" >/dev/null ||
  fail "openssl verify p256"
printf x >>"$T/p256.msg"
openssl dgst -sha256 -verify "$T/p256.pub" -signature "$T/p256.sig" "$T/p256.msg" >/dev/null 2>&1 &&
  fail "tampered message verified"

mkdir "$T/loop"
"$TBIN/sign_many" "$T/loop" 5 >"$T/out" 2>"$T/err" &
loop=$!
sleep 2.5
stop_appliance
start_appliance
wait $loop || { tail -3 "$T/out"; fail "restart loop exited $?"; }
tail -1 "$T/out"
read -r okc failc gen < <(tail -1 "$T/out" | tr -c '0-9\n' ' ')
[ "$failc" -le 3 ] || { head -5 "$T/err"; fail "$failc failed batches"; }
[ "$okc" -gt 100 ] || fail "only $okc batches succeeded"
[ "$gen" -ge 2 ] || fail "the handle never reconnected (generation $gen)"
ok "sign_many: Ed25519, ECDSA P-256, 64 and 600 per call, fork, error codes; restart: $okc ok, $failc failed"
