#!/usr/bin/env node
'use strict';
// bench-table.js: one table, measured in one run, msc `cpu` runner against
// ONNX Runtime (shared/bench/ort-bench.js) on the same models and inputs,
// at 1 and 2 threads. The runtimes alternate and each measurement repeats
// --repeat times; each keeps its best median (shared machines are noisy).
// A model's iteration count grows from --iters until one measurement lasts
// at least --min-ms (from a short probe run of msc at 1 thread), so the
// 0.2-1 ms nets are not timed over 2-10 ms of a noisy host.
//
// usage: bench-table.js --msc BUILD/cli/msc --shared ../shared --zoo DIR
//                       [--repeat 3] [--iters 10] [--min-ms 300] [--warmup 3] [--threads 1,2] [--only SUBSTR]
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function usage(msg) {
  if (msg) console.error('bench-table: ' + msg);
  console.error('usage: bench-table.js --msc MSC --shared DIR --zoo DIR [--repeat R] [--iters I] [--min-ms MS] [--warmup W] [--threads 1,2] [--only S]');
  process.exit(2);
}

const o = { repeat: 3, iters: 10, minMs: 300, warmup: 3, threads: [1, 2], only: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) usage(a + ' needs a value'); return argv[++i]; };
  if (a === '--msc') o.msc = val();
  else if (a === '--shared') o.shared = val();
  else if (a === '--zoo') o.zoo = val();
  else if (a === '--repeat') o.repeat = parseInt(val(), 10);
  else if (a === '--iters') o.iters = parseInt(val(), 10);
  else if (a === '--min-ms') o.minMs = parseFloat(val());
  else if (a === '--warmup') o.warmup = parseInt(val(), 10);
  else if (a === '--threads') o.threads = val().split(',').map(Number);
  else if (a === '--only') o.only = val();
  else usage('unknown argument ' + a);
}
if (!o.msc || !o.shared || !o.zoo) usage();

const conf = path.join(o.shared, 'conformance');
const models = [];
for (const d of fs.readdirSync(path.join(conf, 'models')).sort())
  if (d.endsWith('_rand')) models.push({ name: d, file: path.join(conf, 'models', d, 'model.onnx'), shapes: [] });
models.push({ name: 'ppocr_cls_mobile_v2', file: path.join(conf, 'models/ppocr_cls_mobile_v2/model.onnx'), shapes: ['x=1x3x48x192'] });
models.push({ name: 'light_resnet50', file: path.join(conf, 'light/light_resnet50/model.onnx'), shapes: [] });
models.push({ name: 'light_vgg19', file: path.join(conf, 'light/light_vgg19/model.onnx'), shapes: [] });
for (const f of fs.readdirSync(o.zoo).filter((f) => f.endsWith('.onnx')).sort())
  models.push({ name: 'zoo/' + f.replace(/\.onnx$/, ''), file: path.join(o.zoo, f), shapes: ['input=1x3x64x64'] });

function lastJson(out) {
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
  if (!lines.length) throw new Error('no JSON line in: ' + out);
  return JSON.parse(lines[lines.length - 1]);
}

function ort(m, threads) {
  const args = [path.join(o.shared, 'bench', 'ort-bench.js'), m.file, '--threads', String(threads),
    '--warmup', String(o.warmup), '--iters', String(m.iters)];
  for (const s of m.shapes) args.push('--shape', s);
  return lastJson(execFileSync('node', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

function msc(m, threads, iters = m.iters) {
  const args = ['bench', m.file, '--runner', 'cpu', '--threads', String(threads), '--warmup', String(o.warmup),
    '--iters', String(iters), '--json'];
  for (const s of m.shapes) args.push('--shape', s);
  return lastJson(execFileSync(o.msc, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

const pad = (s, n) => String(s).padStart(n);
const f2 = (x) => (x == null || !isFinite(x) ? '-' : x.toFixed(2));
let isa = '?';
let peak = 0; // FP32 FMA GFLOP/s per core, measured by msc bench in this run (best seen)
const rows = [];
for (const m of models) {
  if (o.only && !m.name.includes(o.only)) continue;
  const r = { name: m.name, gflop: null };
  m.iters = o.iters;
  try { // iterations for at least --min-ms per measurement
    const probe = msc(m, 1, 3).median_ms;
    if (probe > 0) m.iters = Math.min(2000, Math.max(o.iters, Math.ceil(o.minMs / probe)));
  } catch (e) { /* the measurements below report the failure */ }
  r.iters = m.iters;
  for (const t of o.threads) {
    let bo = Infinity, bm = Infinity, err = null;
    for (let k = 0; k < o.repeat; k++) {
      // alternate the runtimes, starting with each in turn
      const order = k % 2 ? ['msc', 'ort'] : ['ort', 'msc'];
      for (const who of order) {
        try {
          if (who === 'ort') bo = Math.min(bo, ort(m, t).median_ms);
          else {
            const j = msc(m, t);
            bm = Math.min(bm, j.median_ms);
            r.gflop = j.gflop;
            isa = j.isa || isa;
            if (j.peak_gflops > peak) peak = j.peak_gflops;
          }
        } catch (e) {
          err = (who + ': ' + String(e.stderr || e.message).trim().split('\n').pop()).slice(0, 100);
        }
      }
    }
    r['ort' + t] = isFinite(bo) ? bo : null;
    r['msc' + t] = isFinite(bm) ? bm : null;
    if (err) r.err = err;
  }
  rows.push(r);
  process.stderr.write(`bench-table: ${m.name} done\n`);
}

console.log(`msc cpu runner vs ONNX Runtime: best median of ${o.repeat} alternating runs of ${o.iters}+ iters ` +
  `(at least ${o.minMs} ms each, iters column); ISA ${isa}; ` +
  `FP32 FMA peak ${peak ? peak.toFixed(1) : '?'} GFLOP/s per core (measured in this run); ${require('os').cpus()[0].model}`);
const pk = (g, ms, t) => (peak && g && ms ? (100 * g / ms * 1e3 / (peak * t)).toFixed(0) + '%' : '-');
let head = pad('model', 26) + pad('GFLOP', 8) + pad('iters', 6);
for (const t of o.threads) head += pad(`ORT ${t}t ms`, 12) + pad(`msc ${t}t ms`, 12) + pad('msc/ORT', 9) + pad('ORT GF/s', 10) + pad('msc GF/s', 10) + pad('ORT %pk', 8) + pad('msc %pk', 8);
console.log(head);
console.log('-'.repeat(head.length));
for (const r of rows) {
  let line = pad(r.name, 26) + pad(f2(r.gflop), 8) + pad(r.iters, 6);
  for (const t of o.threads) {
    const a = r['ort' + t], b = r['msc' + t];
    line += pad(f2(a), 12) + pad(f2(b), 12) + pad(a && b ? (b / a).toFixed(2) : '-', 9) +
      pad(a && r.gflop ? f2(r.gflop / a * 1e3) : '-', 10) + pad(b && r.gflop ? f2(r.gflop / b * 1e3) : '-', 10) +
      pad(pk(r.gflop, a, t), 8) + pad(pk(r.gflop, b, t), 8);
  }
  if (r.err) line += '  (' + r.err + ')';
  console.log(line);
}
