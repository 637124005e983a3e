// The engine benchmark in workerd (Cloudflare Workers' runtime), for `npm run bench:engines`. A Worker's clocks
// do not move while it computes (workerd, like Cloudflare, advances Date.now() and performance.now() only at I/O,
// against timing attacks), so the Worker only runs the work it is asked for, and this side times its requests:
// a kernel's time is (a request of `reps` calls - a request of none) / reps, medians over interleaved rounds,
// and the same for the probe. Requests cost about a millisecond of overhead; each one runs about 200 ms of work.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkerd, workerConfig } from '../test/runtimes/workerd.js';

const WORKER = `
  import * as lib from './dist/bindings/index.js';
  import { kernel } from './dist/bench/kernels.js';
  import { runProbe } from './dist/bench/timing.js';
  import wasm from './ddpm.wasm';
  const prepared = new Map();
  export default {
    async fetch(request) {
      await lib.init(wasm);
      const query = new URL(request.url).searchParams;
      const reps = Number(query.get('reps') ?? 0);
      if (query.has('probe')) {
        for (let i = 0; i < reps; i++) runProbe(Number(query.get('probe')), query.get('form'));
      } else {
        const id = query.get('kernel');
        if (!prepared.has(id)) prepared.set(id, kernel(id).prepare());
        const { run } = prepared.get(id);
        for (let i = 0; i < reps; i++) run();
      }
      return new Response('ok');
    },
  };`;

/** Benchmarks `kernels` (kernel cases: id, op, shape, flops) in workerd; returns an EngineReport. */
export async function benchWorkerd(root, kernels, { quick = false, peakPerMs } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ddpm-workerd-bench-'));
  let server = null;
  const started = performance.now();
  try {
    const esbuild = await import('esbuild');
    await esbuild.build({
      stdin: { contents: WORKER, resolveDir: root, sourcefile: 'engine-worker.js' }, bundle: true, format: 'esm',
      platform: 'browser', outfile: join(dir, 'worker.js'), external: ['./ddpm.wasm'], logLevel: 'silent',
    });
    copyFileSync(join(root, 'dist/ddpm.wasm'), join(dir, 'ddpm.wasm'));
    writeFileSync(join(dir, 'config.capnp'), workerConfig({ entry: 'worker.js', wasm: ['ddpm.wasm'] }));
    server = await startWorkerd('config.capnp', { cwd: dir });
    const request = async (query) => {
      const t0 = performance.now();
      const response = await fetch(`${server.origin}/?${new URLSearchParams(query)}`);
      if (!response.ok) throw new Error(`workerd answered ${response.status}: ${await response.text()}${server.log()}`);
      await response.text();
      return performance.now() - t0;
    };
    /** Milliseconds per unit of `query` (one call, or one probe of `probe` iterations): a difference of medians. */
    const perUnit = async (query, reps, rounds) => {
      const full = [], empty = [];
      for (let r = 0; r < rounds; r++) {
        full.push(await request({ ...query, reps }));
        empty.push(await request({ ...query, reps: 0 }));
      }
      return (median(full) - median(empty)) / reps;
    };
    const rounds = quick ? 3 : 7, workMs = quick ? 80 : 200;
    // The probe's two forms (bench/timing.ts): the faster one stands for this engine's peak.
    const formIterations = Math.round((20 * peakPerMs) / 96);
    const gflopsOf = async (form) => {
      for (let i = 0; i < 3; i++) await request({ probe: formIterations, form, reps: 5 });
      return (formIterations * 96) / (await perUnit({ probe: formIterations, form }, Math.round(workMs / 20), rounds)) / 1e6;
    };
    const probeGflops = { constant: await gflopsOf('constant'), variable: await gflopsOf('variable') };
    const form = probeGflops.variable > probeGflops.constant ? 'variable' : 'constant';
    const rows = [];
    for (const spec of kernels) {
      // Warm-up: the first requests prepare the tensors and let V8 tier the kernel up.
      for (let i = 0; i < 3; i++) await request({ kernel: spec.id, reps: 10 });
      const estimate = Math.max(0.05, await perUnit({ kernel: spec.id }, 5, 2));
      const reps = Math.max(1, Math.round(workMs / estimate));
      const iterations = Math.round((estimate * peakPerMs) / 96);
      const ms = await perUnit({ kernel: spec.id }, reps, rounds);
      const probeMs = await perUnit({ probe: iterations, form }, reps, rounds);
      const gflops = spec.flops / ms / 1e6, peakGflops = (iterations * 96) / probeMs / 1e6;
      rows.push({ id: spec.id, op: spec.op, shape: spec.shape, ms, gflops, peakGflops, pct: (100 * gflops) / peakGflops });
    }
    return {
      engine: `workerd ${server.version} (V8; timed from outside by requests)`, quick, rows, ms: performance.now() - started,
      peakGflops: median(rows.map((r) => r.peakGflops)), probe: { chosen: form, gflops: probeGflops },
    };
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
