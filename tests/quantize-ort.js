#!/usr/bin/env node
'use strict';
// quantize-ort.js NAME CASEDIR: for each CASEDIR/test_data_set_N, compare
// ONNX Runtime's output_K.pb with ours (ref/output_K.pb): the fraction of
// elements within one output quantization step ((max - min) / 255 of our
// output over all sets) must be >= 0.99. Prints one line; exit 1 on failure.
const fs = require('fs'), path = require('path');
const shared = process.env.MSC_SHARED_DIR || path.join(__dirname, '..', '..', 'shared');
const tp = require(path.join(shared, 'bench', 'lib', 'tensorproto'));
const [name, dir] = process.argv.slice(2);
const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
const outs = {};
for (const s of sets) {
  for (const f of fs.readdirSync(path.join(dir, s)).filter((f) => /^output_\d+\.pb$/.test(f))) {
    const ort = tp.readTensor(path.join(dir, s, f));
    const ours = tp.readTensor(path.join(dir, s, "ref", f));
    (outs[f] = outs[f] || []).push([ort.data, ours.data]);
  }
}
let ok = true;
const parts = [];
for (const [f, pairs] of Object.entries(outs)) {
  let lo = Infinity, hi = -Infinity, n = 0, within = 0, worst = 0;
  for (const [, b] of pairs) for (const v of b) { lo = Math.min(lo, Number(v)); hi = Math.max(hi, Number(v)); }
  const step = (hi - lo) / 255 || 1e-6;
  for (const [a, b] of pairs) {
    if (a.length !== b.length) { ok = false; parts.push(`${f}: size ${a.length} vs ${b.length}`); continue; }
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(Number(a[i]) - Number(b[i]));
      n++; if (d <= step * 1.0001) within++; worst = Math.max(worst, d / step);
    }
  }
  const frac = n ? within / n : 0;
  if (frac < 0.99) ok = false;
  parts.push(`${f}: ${within}/${n} within 1 step (${(100 * frac).toFixed(2)}%, worst ${worst.toFixed(2)} steps)`);
}
console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${parts.join('; ')}`);
process.exit(ok ? 0 : 1);
