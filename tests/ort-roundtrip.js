#!/usr/bin/env node
'use strict';
// Export fidelity: for each line "ORIGINAL EXPORTED CASEDIR" of a manifest, run
// ONNX Runtime on both models with every CASEDIR/test_data_set_N/input_K.pb and
// require the same outputs (same dtype and shape; floats within rtol 1e-6 /
// atol 1e-7, integers exactly). Prints one line per case:
//   SAME case | DIFF case: why | EXPORT-REFUSED case: why | ORIGINAL-REFUSED case: why
// (ORT refuses many opset < 7 models; the caller checks those with msc itself).
// Exit 1 on any DIFF or EXPORT-REFUSED. Usage: ort-roundtrip.js MANIFEST
const fs = require('fs'), path = require('path');
const shared = process.env.MSC_SHARED_DIR || path.join(__dirname, '..', '..', 'shared');
const { loadOrt } = require(path.join(shared, 'bench', 'lib', 'ort-load'));
const tp = require(path.join(shared, 'bench', 'lib', 'tensorproto'));

const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  graphOptimizationLevel: 'all', logSeverityLevel: 4 };

function same(a, b) {
  if (a.type !== b.type) return `dtype ${a.type} vs ${b.type}`;
  if (a.dims.join('x') !== b.dims.join('x')) return `shape [${a.dims}] vs [${b.dims}]`;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i], y = b.data[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (Math.abs(x - y) <= 1e-7 + 1e-6 * Math.abs(y)) continue;
    }
    return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}

async function runAll(sess, dir) {
  const outs = [];
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  for (const s of sets) {
    const files = fs.readdirSync(path.join(dir, s)).filter((f) => /^input_\d+\.pb$/.test(f))
      .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)));
    const feeds = {};
    files.forEach((f, k) => {
      const t = tp.readTensor(path.join(dir, s, f));
      const name = sess.inputNames.includes(t.name) && !(t.name in feeds) ? t.name : sess.inputNames[k];
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    });
    const res = await sess.run(feeds);
    outs.push(sess.outputNames.map((n) => ({ type: res[n].type, dims: Array.from(res[n].dims, Number), data: res[n].data })));
  }
  return outs;
}

let ort;
async function main() {
  ort = loadOrt();
  const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
  let bad = 0;
  for (const line of lines) {
    const [orig, exported, dir] = line.split(' ');
    let a, b;
    try { a = await runAll(await ort.InferenceSession.create(orig, opts), dir); }
    catch (e) { console.log(`ORIGINAL-REFUSED ${dir}: ${String(e.message || e).split('\n')[0]}`); continue; }
    try { b = await runAll(await ort.InferenceSession.create(exported, opts), dir); }
    catch (e) { console.log(`EXPORT-REFUSED ${dir}: ${String(e.message || e).split('\n')[0]}`); bad++; continue; }
    let why = null;
    for (let s = 0; s < a.length && !why; s++)
      for (let k = 0; k < a[s].length && !why; k++) { const w = same(b[s][k], a[s][k]); if (w) why = `set ${s} output ${k}: ${w}`; }
    if (why) { console.log(`DIFF ${dir}: ${why}`); bad++; } else console.log(`SAME ${dir}`);
  }
  process.exit(bad ? 1 : 0);
}
main().catch((e) => { console.error('ort-roundtrip: ' + (e && e.message || e)); process.exit(2); });
