# Shared set-up for the t*.sh tests: a real appliance in a temp dir, a container "c1", a user "u"
# with PIN 1234 (kept in a 0600 PIN file), and helpers. Source it; it cleans up on exit.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CDIR=$(cd "$HERE/.." && pwd)
DIST=${VHSM_DIST:-$ROOT/dist}
BUN=${BUN:-$ROOT/node_modules/.bin/bun}
TOOL=$DIST/bin/vhsm-tool
MODULES=$DIST/lib/ossl-modules
ENGINE=$DIST/lib/engines/vhsm.so
TBIN=$CDIR/build/tests
T=$(mktemp -d "${TMPDIR:-/tmp}/vhsm-ctest.XXXXXX")
APP_PID=
export VHSM_SOCKET=$T/run/containers/c1/vhsm.sock
export VHSM_USER=u
export VHSM_PIN_FILE=$T/pin
unset VHSM_PIN OPENSSL_CONF OPENSSL_MODULES
umask 077
printf '1234' >"$VHSM_PIN_FILE"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

cleanup() {
  stop_appliance
  rm -rf "$T"
}
trap cleanup EXIT

start_appliance() {
  # shellcheck disable=SC2086 # APP_ARGS: extra serve flags a test sets, split on spaces
  "$BUN" "$ROOT/appliance/main.ts" serve --data "$T/data" --run-dir "$T/run" --headless --kdf-log-n 12 \
    ${APP_ARGS:-} >>"$T/appliance.log" 2>&1 &
  APP_PID=$!
  for _ in $(seq 1 300); do
    if curl -sf --unix-socket "$T/run/admin.sock" http://x/health >/dev/null 2>&1; then return 0; fi
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$T/appliance.log"
  fail "appliance did not start"
}

stop_appliance() {
  if [ -n "$APP_PID" ]; then
    kill "$APP_PID" 2>/dev/null
    wait "$APP_PID" 2>/dev/null
    APP_PID=
  fi
}

admin() { # METHOD PATH [JSON]
  curl -s --unix-socket "$T/run/admin.sock" -X "$1" "http://x$2" ${3:+-H content-type:application/json -d "$3"}
}

# appliance + container c1 + user u + HMAC key "k1" imported from $T/k1.key (32 random bytes)
setup_all() {
  [ -x "$TOOL" ] || skip "vhsm-tool not built (make -C agent/c)"
  start_appliance
  admin POST /v1/containers '{"name":"c1"}' >/dev/null
  admin POST /v1/containers/c1/users '{"name":"u","pin":"1234"}' >/dev/null
  head -c 32 /dev/urandom >"$T/k1.key"
  "$TOOL" key import k1 <"$T/k1.key" >/dev/null || fail "key import"
}

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# openssl with the vhsm provider first and the default provider for everything else
ossl_vhsm() { openssl "$1" -provider-path "$MODULES" -provider vhsm -provider default "${@:2}"; }
