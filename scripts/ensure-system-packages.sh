#!/usr/bin/env bash
# System packages the C shim and the tests need. Installed with apt when missing (CI runs as root);
# otherwise the missing ones are named.
set -u
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v tmux >/dev/null || need+=(tmux)
command -v musl-gcc >/dev/null || need+=(musl-tools)
[ -f /usr/include/openssl/provider.h ] || need+=(libssl-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
# the sign bench's peer (SoftHSM2 through PKCS#11, local and behind p11-kit server); it skips without them
[ -f /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v p11-kit >/dev/null || need+=(p11-kit)
[ -f /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so ] || need+=(p11-kit-modules)
[ -f /usr/include/p11-kit-1/p11-kit/pkcs11.h ] || need+=(libp11-kit-dev)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]} (install them with: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
