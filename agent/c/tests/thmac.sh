#!/usr/bin/env bash
# `openssl mac` through the provider (key by id) equals the default provider with the raw key.
. "$(dirname "$0")/lib.sh"
setup_all
KEYHEX=$(hex "$T/k1.key")
check() { # FILE DIGEST
  local ours theirs
  ours=$(ossl_vhsm mac -propquery '?provider=vhsm' -macopt digest:"$2" -macopt key-id:vhsm:k1 -in "$1" HMAC) ||
    fail "provider HMAC $2 of $(stat -c %s "$1") bytes"
  theirs=$(openssl mac -macopt digest:"$2" -macopt hexkey:"$KEYHEX" -in "$1" HMAC)
  [ "$ours" = "$theirs" ] || fail "$2 over $(stat -c %s "$1") bytes: $ours != $theirs"
}
for size in 0 1 4096 1048576 3145733; do
  head -c $size /dev/urandom >"$T/d$size"
  check "$T/d$size" SHA256
done
for d in SHA1 SHA384 SHA512; do check "$T/d4096" $d; done
# the appliance really computed them: the key's use counter moved
uses=$("$TOOL" key info k1 | sed 's/.*"useCount":\([0-9]*\).*/\1/')
[ "$uses" -ge 8 ] || fail "key use count $uses"
# a raw key given to the provider's HMAC is delegated to the default provider
r=$(ossl_vhsm mac -propquery '?provider=vhsm' -macopt digest:SHA256 -macopt hexkey:"$KEYHEX" -in "$T/d1" HMAC)
[ "$r" = "$(openssl mac -macopt digest:SHA256 -macopt hexkey:"$KEYHEX" -in "$T/d1" HMAC)" ] || fail "raw-key delegation"
ok "HMAC 0 B .. 3 MiB, SHA1/256/384/512, $uses uses in the appliance"
