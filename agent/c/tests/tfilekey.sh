#!/usr/bin/env bash
# With the vhsm provider loaded, ordinary file keys still sign through the default provider.
. "$(dirname "$0")/lib.sh"
setup_all
echo hello >"$T/d"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key" 2>/dev/null
for k in ec rsa; do
  ossl_vhsm dgst -sha256 -sign "$T/$k.key" -out "$T/$k.sig" "$T/d" || fail "$k sign without propquery"
  openssl dgst -sha256 -prverify "$T/$k.key" -signature "$T/$k.sig" "$T/d" >/dev/null || fail "$k verify"
  ossl_vhsm dgst -propquery '?provider=vhsm' -sha256 -sign "$T/$k.key" -out "$T/$k.sig" "$T/d" || fail "$k sign"
  openssl dgst -sha256 -prverify "$T/$k.key" -signature "$T/$k.sig" "$T/d" >/dev/null || fail "$k verify"
done
ok "file keys sign with the provider loaded"
