#!/usr/bin/env bash
# The legacy ENGINE: `openssl dgst -engine vhsm.so` digests through the appliance, equal to OpenSSL's.
. "$(dirname "$0")/lib.sh"
[ -f "$ENGINE" ] || skip "engine not built"
setup_all
count() {
  local n
  n=$(admin GET /metrics | awk '/^vhsm_operation_latency_seconds_count\{kind="digest"\}/ {print $2}' | tail -1)
  echo "${n:-0}"
}
before=$(count)
for size in 0 1 4096 1048576 3145733; do
  head -c $size /dev/urandom >"$T/d"
  for md in sha1 sha256 sha384 sha512; do
    ours=$(openssl dgst -engine "$ENGINE" -$md -r "$T/d" 2>"$T/err" | cut -d' ' -f1)
    theirs=$(openssl dgst -$md -r "$T/d" | cut -d' ' -f1)
    [ -n "$ours" ] && [ "$ours" = "$theirs" ] || { cat "$T/err"; fail "$md over $size bytes: $ours != $theirs"; }
  done
done
after=$(count)
[ "$after" -ge $((before + 20)) ] || fail "the appliance computed $((after - before)) digests, expected 20"
ok "engine digests (appliance digest ops $before -> $after)"
