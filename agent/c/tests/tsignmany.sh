#!/usr/bin/env bash
# vhsm_sign_many: 64 pipelined Ed25519 and ECDSA P-256 signatures verified with OpenSSL against the
# exported public keys (under valgrind: no errors, no leaks), then one of each with the openssl CLI.
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
ok "sign_many: Ed25519 and ECDSA P-256, 64 and 600 per call, fork, error codes"
