#!/usr/bin/env bash
# The provider under valgrind: a C program loads it with OSSL_PROVIDER_load, does HMAC by key id
# (one-shot and streamed), a delegated raw-key HMAC, and signs with every key type through
# OSSL_STORE "vhsm:ID" (verified in-process), then unloads it: no memory errors, no leaks.
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/prov_driver" ] || skip "tests not built"
command -v valgrind >/dev/null || skip "valgrind not installed (apt-get install valgrind)"
setup_all
"$TOOL" key generate e1 ed25519 >/dev/null && "$TOOL" key generate p256 ecdsa-p256 >/dev/null &&
  "$TOOL" key generate p384 ecdsa-p384 >/dev/null && "$TOOL" key generate r1 rsa 2048 >/dev/null || fail "key generate"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
  "$TBIN/prov_driver" "$MODULES" k1 "$T/k1.key" e1 p256 p384 r1 >"$T/out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "prov_driver under valgrind: exit $rc"; }
grep -q "^ok: provider HMAC and signing" "$T/out" || { cat "$T/out"; fail "prov_driver did not finish"; }
ok "provider HMAC + signing under valgrind: no errors, no leaks"
