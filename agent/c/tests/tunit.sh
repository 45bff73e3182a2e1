#!/usr/bin/env bash
# libvhsm's unit test against the real appliance, under valgrind: no errors, no leaks.
. "$(dirname "$0")/lib.sh"
[ -x "$TBIN/unit" ] || skip "tests not built"
setup_all
if command -v valgrind >/dev/null; then
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
    "$TBIN/unit" k1 || fail "unit test (valgrind exit $?)"
else
  "$TBIN/unit" k1 || fail "unit test"
fi
# the C client's one-shot HMAC equals openssl's with the same key
head -c 5000 /dev/urandom >"$T/d"
a=$("$TOOL" hmac k1 sha384 <"$T/d")
b=$(openssl mac -digest SHA384 -macopt hexkey:"$(hex "$T/k1.key")" -in "$T/d" HMAC | tr A-F a-f)
[ "$a" = "$b" ] || fail "vhsm-tool hmac $a != openssl $b"
ok "unit"
