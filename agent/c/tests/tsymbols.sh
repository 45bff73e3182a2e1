#!/usr/bin/env bash
# Only the public symbols are exported: vhsm_* from libvhsm, OSSL_provider_init from the provider,
# bind_engine/v_check from the engine.
. "$(dirname "$0")/lib.sh"
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u; }
bad=$(exported "$DIST/lib/libvhsm.so" | grep -v '^vhsm_')
[ -z "$bad" ] || fail "libvhsm exports: $bad"
[ "$(exported "$MODULES/vhsm.so")" = "OSSL_provider_init" ] || fail "provider exports: $(exported "$MODULES/vhsm.so")"
if [ -f "$ENGINE" ]; then
  [ "$(exported "$ENGINE" | tr '\n' ' ')" = "bind_engine v_check " ] || fail "engine exports: $(exported "$ENGINE")"
fi
ok "exports"
