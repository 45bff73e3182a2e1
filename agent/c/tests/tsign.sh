#!/usr/bin/env bash
# Signing with vhsm:KEYID (Ed25519, ECDSA P-256/P-384, RSA PKCS#1 and PSS) verifies with the default
# provider and the exported public key; a certificate signed by a vhsm key verifies.
. "$(dirname "$0")/lib.sh"
setup_all
PQ='?provider=vhsm' # OpenSSL 3.0 picks the signature by property, not by the key's provider
head -c 10000 /dev/urandom >"$T/d"
"$TOOL" key generate e1 ed25519 >/dev/null || skip "appliance cannot generate Ed25519 keys"
"$TOOL" key generate p256 ecdsa-p256 >/dev/null && "$TOOL" key generate p384 ecdsa-p384 >/dev/null &&
  "$TOOL" key generate r1 rsa 2048 >/dev/null || fail "key generate"
for k in e1 p256 p384 r1; do
  ossl_vhsm pkey -in vhsm:$k -pubout -out "$T/$k.pub" || fail "public key of $k"
  grep -q "PRIVATE" "$T/$k.pub" && fail "private key material exported"
done
ossl_vhsm pkeyutl -propquery "$PQ" -sign -inkey vhsm:e1 -rawin -in "$T/d" -out "$T/e1.sig" || fail "ed25519 sign"
openssl pkeyutl -verify -pubin -inkey "$T/e1.pub" -rawin -in "$T/d" -sigfile "$T/e1.sig" >/dev/null || fail "ed25519 verify"
for k in p256 p384 r1; do
  for md in sha256 sha384; do
    ossl_vhsm dgst -propquery "$PQ" -$md -sign vhsm:$k -out "$T/$k.sig" "$T/d" || fail "$k $md sign"
    openssl dgst -$md -verify "$T/$k.pub" -signature "$T/$k.sig" "$T/d" >/dev/null || fail "$k $md verify"
  done
done
openssl dgst -sha256 -binary "$T/d" >"$T/d.sha256"
ossl_vhsm pkeyutl -propquery "$PQ" -sign -inkey vhsm:r1 -pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256 \
  -in "$T/d.sha256" -out "$T/pss.sig" || fail "pss sign"
openssl pkeyutl -verify -pubin -inkey "$T/r1.pub" -pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256 \
  -in "$T/d.sha256" -sigfile "$T/pss.sig" >/dev/null || fail "pss verify"
# ECDSA sends messages up to 16 KiB whole and hashes longer ones itself: one that crosses the limit
# in the middle of dgst's updates
head -c 100000 /dev/urandom >"$T/big"
for k in p256 p384; do
  ossl_vhsm dgst -propquery "$PQ" -sha384 -sign vhsm:$k -out "$T/big.sig" "$T/big" || fail "$k sign 100 kB"
  openssl dgst -sha384 -verify "$T/$k.pub" -signature "$T/big.sig" "$T/big" >/dev/null || fail "$k 100 kB verify"
done
# a tampered message must not verify (the check can fail)
printf x >>"$T/d"
openssl dgst -sha256 -verify "$T/p256.pub" -signature "$T/p256.sig" "$T/d" >/dev/null 2>&1 && fail "tampered data verified"
for k in e1 p256; do
  ossl_vhsm req -propquery "$PQ" -new -x509 -key vhsm:$k -subj "/CN=vhsm $k" -days 1 -out "$T/$k.crt" || fail "$k cert"
  openssl verify -check_ss_sig -CAfile "$T/$k.crt" "$T/$k.crt" >/dev/null || fail "$k cert verify"
done
ok "Ed25519, ECDSA P-256/P-384, RSA PKCS#1/PSS, self-signed certificates"
