#!/usr/bin/env node
'use strict';
// shape-compare.js: where the time goes, ONNX Runtime against msc, per conv
// shape. Runs the model in ORT with its profiler on (kernel time per node)
// and `msc bench --top 100000` (per-node table, hooks on), keys every Conv
// / QLinearConv by "KxK C->M @OHxOW" (strided and not strided merged: ORT's
// profile does not give the stride) and every other op by its type, and
// prints both sums per run side by side, the largest msc - ORT first. Both
// profilers add overhead of their own (ORT's total is ~1.3-1.5x its
// unprofiled median, msc's similar), so read differences between rows, not
// the totals against `make bench`.
//
// usage: shape-compare.js --msc BUILD/cli/msc MODEL [--threads N] [--iters I] [--shape NAME=1x3x224x224]
// needs ONNX Runtime (shared/bench/setup-ort.sh; MSC_BENCH_DIR or the cache it sets up)
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function usage(msg) {
  if (msg) console.error('shape-compare: ' + msg);
  console.error('usage: shape-compare.js --msc MSC MODEL [--threads N] [--iters I] [--shape NAME=DxDxD]');
  process.exit(2);
}
const o = { threads: 1, iters: 10, shapes: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) usage(a + ' needs a value'); return argv[++i]; };
  if (a === '--msc') o.msc = val();
  else if (a === '--threads') o.threads = parseInt(val(), 10);
  else if (a === '--iters') o.iters = parseInt(val(), 10);
  else if (a === '--shape') o.shapes.push(val());
  else if (a.startsWith('-')) usage('unknown option ' + a);
  else if (!o.model) o.model = a;
  else usage('extra argument ' + a);
}
if (!o.msc || !o.model || !(o.threads >= 1) || !(o.iters >= 1)) usage();
const shared = process.env.MSC_SHARED_DIR || path.join(__dirname, '..', '..', 'shared');
const { loadOrt } = require(path.join(shared, 'bench', 'lib', 'ort-load.js'));

function convKey(k, cin, cout, oh, ow) { return `${k} ${cin}->${cout} @${oh}x${ow}`; }

async function ortTimes() {
  const ort = loadOrt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msc-shape-'));
  try {
    const sess = await ort.InferenceSession.create(o.model, {
      executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all', logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
    });
    const given = {};
    for (const s of o.shapes) { const [n, d] = s.split('='); given[n] = d.split('x').map(Number); }
    const feeds = {};
    for (const m of sess.inputMetadata) {
      const dims = given[m.name] || m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
      const n = dims.reduce((a, b) => a * b, 1), data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 0.5; // deterministic, no calibration meaning
      feeds[m.name] = new ort.Tensor('float32', data, dims);
    }
    for (let i = 0; i < 3; i++) await sess.run(feeds); // warm-up, profiled too: subtracted below by run count
    for (let i = 0; i < o.iters; i++) await sess.run(feeds);
    await sess.endProfiling(); // writes dir/p_<date>.json (the binding does not return the name)
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ONNX Runtime wrote no profile');
    const ev = JSON.parse(fs.readFileSync(path.join(dir, file)));
    const per = {};
    let runs = 0;
    for (const e of ev) {
      if (e.cat === 'Session' && e.name === 'model_run') runs++;
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const a = e.args, op = a.op_name;
      let key = op;
      if (op === 'Conv' || op === 'QLinearConv') {
        const ins = a.input_type_shape.map((x) => Object.values(x)[0]), out = Object.values(a.output_type_shape[0])[0];
        const w = ins[op === 'Conv' ? 1 : 3];
        key = convKey(`${w[2]}x${w[3]}`, ins[0][1], w[0], out[2], out[3]);
      }
      per[key] = (per[key] || 0) + e.dur / 1000;
    }
    for (const k of Object.keys(per)) per[k] /= Math.max(runs, 1);
    return per;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function mscTimes() {
  const args = ['bench', o.model, '--threads', String(o.threads), '--iters', String(o.iters), '--profile-iters',
    String(o.iters), '--top', '100000'];
  for (const s of o.shapes) args.push('--shape', s);
  const out = execFileSync(o.msc, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const per = {};
  for (const line of out.split('\n')) {
    // "    ms      %  GFLOP/s  op  shape  node" rows; GFLOP/s is absent for ops without a FLOP count
    const m = line.match(/^\s+([0-9.]+)\s+[0-9.]+%\s+(?:[0-9.]+\s+)?(\S+)\s+(.*?)\s+(\S+)\s*$/);
    if (!m) continue;
    const t = parseFloat(m[1]), op = m[2];
    let key = op;
    const c = m[3].match(/^(\d+x\d+)\/\d+(?:x\d+)? (\d+)->(\d+)(?: dw)? @(\d+)x(\d+)/);
    if (op === 'Conv' && c) key = convKey(c[1], c[2], c[3], c[4], c[5]);
    per[key] = (per[key] || 0) + t;
  }
  return per;
}

(async () => {
  const ortPer = await ortTimes();
  const mscPer = mscTimes();
  const keys = [...new Set([...Object.keys(ortPer), ...Object.keys(mscPer)])];
  keys.sort((a, b) => ((mscPer[b] || 0) - (ortPer[b] || 0)) - ((mscPer[a] || 0) - (ortPer[a] || 0)));
  const sum = (p) => Object.values(p).reduce((a, b) => a + b, 0);
  console.log(`${o.model}: ms per run, ${o.threads} thread(s), ${o.iters} profiled runs each; conv key KxK C->M @OHxOW`);
  console.log(`${'shape / op'.padEnd(36)} ${'ORT'.padStart(8)} ${'msc'.padStart(8)} ${'msc-ORT'.padStart(8)}`);
  for (const k of keys) {
    const a = ortPer[k] || 0, b = mscPer[k] || 0;
    console.log(`${k.padEnd(36)} ${a.toFixed(3).padStart(8)} ${b.toFixed(3).padStart(8)} ${(b - a).toFixed(3).padStart(8)}`);
  }
  console.log(`${'total (profilers on)'.padEnd(36)} ${sum(ortPer).toFixed(3).padStart(8)} ${sum(mscPer).toFixed(3).padStart(8)}`);
})().catch((e) => { console.error('shape-compare: ' + (e && e.message ? e.message : e)); process.exit(1); });
