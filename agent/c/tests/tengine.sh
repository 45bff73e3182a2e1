#!/usr/bin/env bash
# The legacy ENGINE, checked against plain OpenSSL:
# - digests: `openssl dgst -engine vhsm` equals OpenSSL's and is computed by the appliance;
# - HMAC by key id: `-mac HMAC -macopt key:vhsm:k1` equals HMAC with the raw key; a raw key through
#   the engine still works (OpenSSL computes it); from C through EVP_PKEY_new_raw_private_key;
# - signing keys: ENGINE_load_private_key("vhsm:ID") via `-keyform engine` (pkeyutl, dgst, req) and
#   from C; every signature and certificate verifies with plain openssl; file keys still sign.
. "$(dirname "$0")/lib.sh"
[ -f "$ENGINE" ] || skip "engine not built"
[ -x "$TBIN/engine_client" ] || skip "tests not built"
setup_all
export OPENSSL_ENGINES=$DIST/lib/engines # `-engine vhsm` and `-keyform engine` find the engine by id
count() { # KIND: operations the appliance has done
  local n
  n=$(admin GET /metrics | awk -v k="vhsm_operations_total{kind=\"$1\"}" '$1 == k {print $2}' | tail -1)
  echo "${n:-0}"
}
digests=$(count digest)
for size in 0 1 4096 1048576 3145733; do
  head -c $size /dev/urandom >"$T/d"
  for md in sha1 sha256 sha384 sha512; do
    ours=$(openssl dgst -engine vhsm -$md -r "$T/d" 2>"$T/err" | cut -d' ' -f1)
    theirs=$(openssl dgst -$md -r "$T/d" | cut -d' ' -f1)
    [ -n "$ours" ] && [ "$ours" = "$theirs" ] || { cat "$T/err"; fail "$md over $size bytes: $ours != $theirs"; }
  done
done
[ "$(count digest)" -ge $((digests + 20)) ] || fail "the appliance computed $(($(count digest) - digests)) digests, expected 20"
ok "engine digests"

hk=$(hex "$T/k1.key")
macs=$(count hmac)
for size in 0 4096 3145733; do
  head -c $size /dev/urandom >"$T/d"
  for md in sha1 sha256 sha384 sha512; do
    want=$(openssl dgst -$md -mac HMAC -macopt hexkey:"$hk" -r "$T/d" | cut -d' ' -f1)
    got=$(openssl dgst -engine vhsm -$md -mac HMAC -macopt key:vhsm:k1 -r "$T/d" 2>"$T/err" | cut -d' ' -f1)
    [ -n "$got" ] && [ "$got" = "$want" ] || { cat "$T/err"; fail "engine HMAC-$md over $size bytes: $got != $want"; }
  done
done
[ "$(count hmac)" -ge $((macs + 12)) ] || fail "the appliance computed $(($(count hmac) - macs)) HMACs, expected 12"
got=$(openssl dgst -engine vhsm -sha256 -mac HMAC -macopt hexkey:"$hk" -r "$T/d" 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$(openssl dgst -sha256 -mac HMAC -macopt hexkey:"$hk" -r "$T/d" | cut -d' ' -f1)" ] || fail "raw-key HMAC through the engine"
got=$("$TBIN/engine_client" "$ENGINE" hmac k1 sha384 "$T/d") || fail "engine_client hmac"
[ "$got" = "$(openssl dgst -sha384 -mac HMAC -macopt hexkey:"$hk" -r "$T/d" | cut -d' ' -f1)" ] || fail "C HMAC $got"
out=$(openssl dgst -engine vhsm -sha256 -mac HMAC -macopt key:vhsm:missing "$T/d" 2>&1) && fail "unknown HMAC key accepted"
echo "$out" | grep -q KEY_NOT_FOUND || fail "unknown HMAC key: $out"
ok "engine HMAC by key id (appliance HMACs $macs -> $(count hmac))"

"$TOOL" key generate e1 ed25519 >/dev/null && "$TOOL" key generate p256 ecdsa-p256 >/dev/null &&
  "$TOOL" key generate p384 ecdsa-p384 >/dev/null && "$TOOL" key generate r1 rsa 2048 >/dev/null || fail "key generate"
head -c 10000 /dev/urandom >"$T/d"
openssl dgst -sha256 -binary "$T/d" >"$T/d.sha256"
E=(-engine vhsm -keyform engine)
signs=$(count sign)
for k in e1 p256 p384 r1; do
  ossl_vhsm pkey -in vhsm:$k -pubout -out "$T/$k.pub" || fail "public key of $k"
  "$TBIN/engine_client" "$ENGINE" sign vhsm:$k "$T/d" >"$T/$k.csig" || fail "engine_client sign $k"
  openssl req "${E[@]}" -key vhsm:$k -new -x509 -subj "/CN=engine $k" -days 1 -out "$T/$k.crt" 2>"$T/err" || { cat "$T/err"; fail "$k req"; }
  openssl verify -check_ss_sig -CAfile "$T/$k.crt" "$T/$k.crt" >/dev/null || fail "$k certificate does not verify"
  openssl x509 -in "$T/$k.crt" -noout -pubkey | cmp -s - "$T/$k.pub" || fail "$k certificate has another public key"
done
openssl pkeyutl -verify -pubin -inkey "$T/e1.pub" -rawin -in "$T/d" -sigfile "$T/e1.csig" >/dev/null || fail "C Ed25519"
for k in p256 p384 r1; do
  openssl dgst -sha256 -verify "$T/$k.pub" -signature "$T/$k.csig" "$T/d" >/dev/null || fail "C $k signature"
  openssl dgst "${E[@]}" -sha384 -sign vhsm:$k -out "$T/$k.sig" "$T/d" 2>"$T/err" || { cat "$T/err"; fail "dgst -sign $k"; }
  openssl dgst -sha384 -verify "$T/$k.pub" -signature "$T/$k.sig" "$T/d" >/dev/null || fail "$k dgst signature"
  openssl pkeyutl "${E[@]}" -sign -inkey vhsm:$k -pkeyopt digest:sha256 -in "$T/d.sha256" -out "$T/$k.psig" 2>/dev/null || fail "pkeyutl $k"
  openssl pkeyutl -verify -pubin -inkey "$T/$k.pub" -pkeyopt digest:sha256 -in "$T/d.sha256" -sigfile "$T/$k.psig" >/dev/null ||
    fail "$k pkeyutl signature"
done
openssl pkeyutl "${E[@]}" -sign -inkey vhsm:e1 -rawin -in "$T/d" -out "$T/e1.sig" 2>/dev/null || fail "pkeyutl Ed25519"
openssl pkeyutl -verify -pubin -inkey "$T/e1.pub" -rawin -in "$T/d" -sigfile "$T/e1.sig" >/dev/null || fail "Ed25519 pkeyutl signature"
openssl pkeyutl "${E[@]}" -sign -inkey vhsm:r1 -pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256 -in "$T/d.sha256" \
  -out "$T/pss.sig" 2>/dev/null || fail "pkeyutl RSA-PSS"
openssl pkeyutl -verify -pubin -inkey "$T/r1.pub" -pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256 -in "$T/d.sha256" \
  -sigfile "$T/pss.sig" >/dev/null || fail "RSA-PSS signature"
# the check can fail: a signature over other data does not verify
printf x >>"$T/d"
openssl dgst -sha384 -verify "$T/p256.pub" -signature "$T/p256.sig" "$T/d" >/dev/null 2>&1 && fail "tampered data verified"
[ "$(count sign)" -ge $((signs + 16)) ] || fail "the appliance made $(($(count sign) - signs)) signatures, expected 16"
# file keys keep working with the engine loaded (its signing methods only serve keys it loaded)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/file.key" 2>/dev/null
openssl dgst -engine vhsm -sha256 -sign "$T/file.key" -out "$T/file.sig" "$T/d" 2>/dev/null || fail "file key with the engine"
openssl pkey -in "$T/file.key" -pubout | openssl dgst -sha256 -verify /dev/stdin -signature "$T/file.sig" "$T/d" >/dev/null ||
  fail "file key signature"
out=$(openssl pkeyutl "${E[@]}" -sign -inkey vhsm:missing -in "$T/d.sha256" 2>&1) && fail "unknown key signed"
echo "$out" | grep -q KEY_NOT_FOUND || fail "unknown key: $out"
if command -v valgrind >/dev/null; then
  for args in "sign vhsm:p256" "sign vhsm:e1" "hmac k1 sha256"; do
    # shellcheck disable=SC2086
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$TBIN/engine_client" "$ENGINE" $args "$T/d" >/dev/null 2>"$T/vg" || { cat "$T/vg"; fail "valgrind: engine_client $args"; }
  done
fi
ok "engine signing keys: Ed25519, ECDSA P-256/P-384, RSA PKCS#1/PSS, certificates (appliance signatures $signs -> $(count sign))"
