#!/usr/bin/env bash
# The C codec passes every hex vector in test/vectors/messages.json (encode, decode, rejections).
. "$(dirname "$0")/lib.sh"
VECTORS=$ROOT/test/vectors/messages.json
[ -f "$VECTORS" ] || skip "no $VECTORS"
[ -x "$TBIN/vectors" ] || skip "tests not built"
"$BUN" -e '
const d = JSON.parse(await Bun.file(process.argv[1]).text());
const hex = (s) => (s.length ? Buffer.from(s, "utf8").toString("hex") : "-");
const val = (t, v) =>
  t === "bytes" ? (v.length ? v : "-") : t === "str" ? hex(v) : t === "strs" ? [v.length, ...v.map(hex)].join(" ") : String(v);
const out = [];
for (const v of d.vectors) {
  out.push(`V ${v.name}`, `H ${v.flags} ${v.opcode} ${v.status} ${v.requestId}`);
  for (const [k, t] of Object.entries(v.schema)) out.push(`F ${t} ${val(t, v.fields[k])}`);
  out.push(`X ${v.hex}`);
}
for (const v of d.invalid) {
  out.push(`I ${v.name}`, `L ${v.level} ${v.expect} ${v.maxBody ?? 0}`);
  for (const t of Object.values(v.schema ?? {})) out.push(`S ${t}`);
  out.push(`Y ${v.hex}`);
}
console.log(out.join("\n"));
' "$VECTORS" >"$T/vectors.txt" || fail "cannot convert the vectors"
"$TBIN/vectors" <"$T/vectors.txt" | tee "$T/out" | grep -v '^ok' | tail -20
grep -q ' 0 failed' "$T/out" || fail "vectors"
ok "$(tail -1 "$T/out")"
