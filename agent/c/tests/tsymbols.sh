#!/usr/bin/env bash
# Only the public symbols are exported: vhsm_* from libvhsm, OSSL_provider_init from the provider,
# bind_engine/v_check from the engine.
. "$(dirname "$0")/lib.sh"
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u; }
bad=$(exported "$DIST/lib/libvhsm.so" | grep -v '^vhsm_')
[ -z "$bad" ] || fail "libvhsm exports: $bad"
# and every function the header declares (vhsm_sign_many, vhsm_hmac_many, ...)
declared=$(tr '\n' ' ' <"$CDIR/include/vhsm.h" | grep -o 'VHSM_API [^;(]*(' | grep -o 'vhsm_[a-z0-9_]*($' |
  tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$declared") <(exported "$DIST/lib/libvhsm.so"))
[ -z "$missing" ] && [ "$(echo "$declared" | wc -l)" -gt 20 ] ||
  fail "declared in vhsm.h, not exported: $missing"
[ "$(exported "$MODULES/vhsm.so")" = "OSSL_provider_init" ] || fail "provider exports: $(exported "$MODULES/vhsm.so")"
if [ -f "$ENGINE" ]; then
  [ "$(exported "$ENGINE" | tr '\n' ' ')" = "bind_engine v_check " ] || fail "engine exports: $(exported "$ENGINE")"
fi
ok "exports"
