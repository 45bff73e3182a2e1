#!/usr/bin/env bash
# Failures give readable OpenSSL errors naming the vhsm status, and never crash.
. "$(dirname "$0")/lib.sh"
setup_all
echo x >"$T/d"
run_mac() { ossl_vhsm mac -propquery '?provider=vhsm' -macopt digest:SHA256 -macopt key-id:"$1" -in "$T/d" HMAC; }
expect() { # STATUS command...
  local status=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  [ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "exit $rc for $status: $out"
  echo "$out" | grep -q "$status" || fail "expected $status in: $out"
}
expect KEY_NOT_FOUND run_mac no-such-key
printf 9999 >"$T/wrong"
VHSM_PIN_FILE=$T/wrong expect BAD_CREDENTIALS run_mac k1
expect UNSUPPORTED_MECHANISM ossl_vhsm mac -propquery '?provider=vhsm' -macopt digest:MD5 -macopt key-id:k1 -in "$T/d" HMAC
expect KEY_NOT_FOUND ossl_vhsm pkey -in vhsm:missing -pubout
expect UNSUPPORTED_MECHANISM ossl_vhsm pkey -in vhsm:k1 -pubout
stop_appliance
expect CONNECTION_FAILED run_mac k1
ok "KEY_NOT_FOUND, BAD_CREDENTIALS, UNSUPPORTED_MECHANISM, CONNECTION_FAILED reported"
