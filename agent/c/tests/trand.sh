#!/usr/bin/env bash
# `openssl rand` with VHSM-RAND selected in openssl.cnf draws its bytes from the appliance.
. "$(dirname "$0")/lib.sh"
setup_all
cat >"$T/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
random = random_sect
[provider_sect]
vhsm = vhsm_sect
default = default_sect
[vhsm_sect]
module = $MODULES/vhsm.so
socket = $VHSM_SOCKET
user = u
pin-file = $VHSM_PIN_FILE
activate = 1
[default_sect]
activate = 1
[random_sect]
random = VHSM-RAND
properties = provider=vhsm
CNF
count() {
  local n
  n=$(admin GET /metrics | awk '/^vhsm_operation_latency_seconds_count\{kind="random"\}/ {print $2}' | tail -1)
  echo "${n:-0}"
}
before=$(count)
a=$(env -u VHSM_SOCKET -u VHSM_USER -u VHSM_PIN_FILE OPENSSL_CONF=$T/openssl.cnf openssl rand -hex 32) || fail "openssl rand"
b=$(OPENSSL_CONF=$T/openssl.cnf openssl rand -hex 32) || fail "openssl rand"
[ ${#a} -eq 64 ] && [ "$a" != "$b" ] || fail "random output $a / $b"
after=$(count)
[ "$after" -gt "$before" ] || { admin GET /metrics | grep -i rand; fail "appliance RANDOM count did not move ($before -> $after)"; }
OPENSSL_CONF=$T/openssl.cnf openssl rand -out "$T/big" 100000 && [ "$(stat -c %s "$T/big")" -eq 100000 ] || fail "100 kB"
ok "openssl rand via the appliance (RANDOM ops $before -> $after)"
