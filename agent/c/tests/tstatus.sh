#!/usr/bin/env bash
# The C status enum and names match protocol/status.ts code for code.
. "$(dirname "$0")/lib.sh"
[ -x "$TOOL" ] || skip "vhsm-tool not built"
"$BUN" -e '
const { Status } = await import(process.argv[1]);
for (const [name, code] of Object.entries(Status)) if (code !== 0) console.log(`${code} ${name}`);
' "$ROOT/protocol/status.ts" | sort -n >"$T/ts"
"$TOOL" statuses | sort -n >"$T/c"
diff "$T/ts" "$T/c" || fail "status tables differ (< status.ts, > libvhsm)"
ok "$(wc -l <"$T/c") status codes match"
