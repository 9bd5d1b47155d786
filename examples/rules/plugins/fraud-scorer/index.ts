// @ts-nocheck: AssemblyScript (load, heap, i32...), compiled by asc, not tsc
// biome-ignore-all lint/suspicious/noDoubleEquals: AssemblyScript, where == compares values
// fraud-scorer: a rule plugin in AssemblyScript (JSON ABI v1, the seed's ABI). A toy risk score
// from the payment's amount: it reads the input JSON the host wrote (Acteon's action context,
// compact JSON as JSON.stringify writes it) and says verdict true (the rule matches: "flagged")
// for a payment whose score is 0.5 or more. Built by ../build.mjs:
//   asc index.ts --runtime stub --use abort= -O3 -o fraud-scorer.wasm

/** The host asks for the input buffer here. */
export function allocate(size: i32): i32 {
  return <i32>heap.alloc(<usize>size);
}

/** The offset just after `needle` in [ptr, ptr+len), or -1. */
function after(ptr: i32, len: i32, needle: string): i32 {
  const n = String.UTF8.encode(needle);
  const np = changetype<i32>(n);
  const nl = n.byteLength;
  for (let i = 0; i + nl <= len; i++) {
    let same = true;
    for (let j = 0; j < nl; j++) {
      if (load<u8>(ptr + i + j) != load<u8>(np + j)) {
        same = false;
        break;
      }
    }
    if (same) return i + nl;
  }
  return -1;
}

/** A non-negative decimal number at ptr (digits and one dot). */
function number(ptr: i32, len: i32): f64 {
  let v: f64 = 0;
  let scale: f64 = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + i);
    if (c == 0x2e && scale == 0) {
      scale = 1;
      continue;
    }
    if (c < 0x30 || c > 0x39) break;
    if (scale > 0) {
      scale /= 10;
      v += <f64>(c - 0x30) * scale;
    } else v = v * 10 + <f64>(c - 0x30);
  }
  return v;
}

export function evaluate(ptr: i32, len: i32): i64 {
  const payment = after(ptr, len, '"action_type":"payment"') >= 0;
  const at = after(ptr, len, '"amount":');
  const amount = at < 0 ? 0.0 : number(ptr + at, len - at);
  const score = amount >= 10000 ? 0.92 : amount >= 1000 ? 0.6 : 0.1;
  const verdict = payment && score >= 0.5;
  const s = score.toString();
  const out =
    '{"verdict":' +
    (verdict ? "true" : "false") +
    ',"message":"' +
    (verdict ? "high risk score: " : "risk score: ") +
    s +
    '","metadata":{"score":' +
    s +
    "}}";
  const buf = String.UTF8.encode(out);
  return (i64(changetype<i32>(buf)) << 32) | i64(buf.byteLength);
}
