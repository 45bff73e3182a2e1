#!/usr/bin/env bash
# A process that forks after login computes correct HMACs in parent and child (own connections).
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/fork_hmac" ] || skip "tests not built"
setup_all
OPENSSL_MODULES=$MODULES "$TBIN/fork_hmac" k1 "$T/k1.key" || fail "fork"
ok "fork"
