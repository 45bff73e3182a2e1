#!/usr/bin/env bash
# libvhsm needs only libc: built with musl-gcc, a static vhsm-tool links and talks to the appliance.
. "$(dirname "$0")/lib.sh"
command -v musl-gcc >/dev/null || skip "musl-gcc not installed"
make -s -C "$CDIR" musl DIST="$DIST" >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "musl build"; }
MT=$CDIR/build/musl/vhsm-tool
file "$MT" 2>/dev/null | grep -q "statically linked" || ldd "$MT" 2>&1 | grep -q "not a dynamic" || fail "not static"
setup_all
a=$(printf abc | "$MT" hmac k1 sha256) || fail "musl vhsm-tool hmac"
b=$(printf abc | openssl mac -digest SHA256 -macopt hexkey:"$(hex "$T/k1.key")" HMAC | tr A-F a-f)
[ "$a" = "$b" ] || fail "$a != $b"
"$MT" random 16 >/dev/null || fail "random"
ok "static musl build: $(stat -c %s "$MT") bytes"
