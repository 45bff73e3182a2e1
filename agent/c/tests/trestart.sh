#!/usr/bin/env bash
# An appliance restart in the middle of an HMAC loop costs at most a few failed calls.
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/restart_loop" ] || skip "tests not built"
setup_all
OPENSSL_MODULES=$MODULES "$TBIN/restart_loop" k1 "$T/k1.key" 6 >"$T/out" 2>"$T/err" &
loop=$!
sleep 1.5
stop_appliance
start_appliance
wait $loop || fail "loop exited $?"
cat "$T/out"
read -r okc failc < <(sed 's/ok=\([0-9]*\) failed=\([0-9]*\)/\1 \2/' "$T/out")
[ "$failc" -le 3 ] || { head -5 "$T/err"; fail "$failc failed calls"; }
[ "$okc" -gt 100 ] || fail "only $okc calls succeeded"
# and calls after the restart succeeded: the key is used in the new appliance process
ok "restart: $okc ok, $failc failed"
