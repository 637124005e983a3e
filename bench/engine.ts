/**
 * The kernels (kernels.ts) benchmarked in whatever engine runs this: Node, Deno, Bun, a browser's page or worker.
 * Each kernel's GFLOP/s, and its share of this engine's own SIMD128 peak (timing.ts's probe, sized to last as long
 * as the kernel's samples and measured in the same rounds). The page (web/bench.html) and `npm run bench:engines`
 * run it; Node's full report (main.ts) times the same kernels on the CPU clock.
 *
 * Only the wall clock is portable (`performance.now()`, which browsers coarsen to between 5 µs and 1 ms), so every
 * timed sample is a batch of calls lasting at least `sampleMs`, and a kernel is warmed up for a while first
 * (engines run wasm in a baseline compiler until it has run for a bit). Memory-bound kernels (group norm) have
 * no flop count and are left out.
 */
import { engineName } from '../bindings/verify/engine.ts';
import { KERNELS, kernel, type KernelCase } from './kernels.ts';
import {
  PROBE_FLOPS_PER_ITERATION, median, probeForms, probeIterations, roughPeak, runProbe, timeCases, wallClock, type Clock, type ProbeForm,
} from './timing.ts';

/** One kernel in one engine. */
export interface EngineRow {
  id: string;
  op: string;
  shape: string;
  /** Median milliseconds per call. */
  ms: number;
  gflops: number;
  /** The probe's rate in the same rounds: the engine's peak while this kernel ran. */
  peakGflops: number;
  /** gflops / peakGflops, in percent. */
  pct: number;
}

export interface EngineReport {
  /** The runtime and its engine (a browser's user agent). */
  engine: string;
  quick: boolean;
  /** The engine's SIMD128 peak: the median of the probes measured beside the kernels. */
  peakGflops: number;
  /** The probe's form this engine ran faster, and both forms' GFLOP/s in the first rough measurement. */
  probe: { chosen: ProbeForm; gflops: Record<ProbeForm, number> };
  rows: EngineRow[];
  /** Milliseconds the whole run took. */
  ms: number;
}

export interface EngineOptions {
  /** A subset (QUICK_KERNELS), shorter samples and fewer rounds: a rough table in seconds. Default false. */
  quick?: boolean;
  /** The kernels to run, by id (kernels.ts). Default: every kernel with a flop count (QUICK_KERNELS when quick). */
  kernels?: readonly string[];
  /** Called before each kernel. */
  onProgress?: (kernel: KernelCase, done: number, total: number) => void;
  /** The clock. Default: performance.now(). */
  clock?: Clock;
}

/** The kernels of a quick run. */
export const QUICK_KERNELS: readonly string[] = ['matmul256', 'conv3x3', 'attention'];

/** Benchmarks the kernels in this engine (the library's core must be loaded: `init()`). */
export async function benchEngine(options: EngineOptions = {}): Promise<EngineReport> {
  const started = performance.now();
  const quick = options.quick ?? false;
  const clock = options.clock ?? wallClock;
  const cases = (options.kernels ?? (quick ? QUICK_KERNELS : KERNELS.filter((k) => k.flops > 0).map((k) => k.id))).map(kernel);
  const peakPerMs = roughPeak(clock, quick ? 5 : 10);
  const rows: EngineRow[] = [];
  for (const [index, spec] of cases.entries()) {
    options.onProgress?.(spec, index, cases.length);
    rows.push(await benchKernel(spec, { peakPerMs, clock, quick }));
    // Let a page repaint and a worker receive messages between kernels.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return {
    engine: engineName(), quick, peakGflops: median(rows.map((r) => r.peakGflops)), probe: probeForms(), rows,
    ms: performance.now() - started,
  };
}

/** One kernel: warmed up, then batches of calls interleaved with an equally long probe, in rounds. */
async function benchKernel(spec: KernelCase, { peakPerMs, clock, quick }: { peakPerMs: number; clock: Clock; quick: boolean }): Promise<EngineRow> {
  if (spec.flops <= 0) throw new Error(`bench: ${spec.id} has no flop count (memory-bound): the engine benchmark leaves it out`);
  const sampleMs = quick ? 20 : 50;
  const prepared = spec.prepare();
  try {
    const perCall = warmUp(prepared.run, clock, quick ? 150 : 400);
    const reps = Math.max(1, Math.ceil(sampleMs / perCall));
    const batch = () => { for (let i = 0; i < reps; i++) prepared.run(); };
    const iterations = probeIterations(perCall * reps, peakPerMs);
    const t = await timeCases([
      { name: 'kernel', fn: batch, warmup: 1, iterations: 3 },
      { name: 'probe', fn: () => runProbe(iterations), warmup: 1, iterations: 3 },
    ], quick ? 3 : 5, clock);
    const ms = t.cpu('kernel') / reps;
    const gflops = spec.flops / ms / 1e6;
    const peakGflops = (iterations * PROBE_FLOPS_PER_ITERATION) / t.cpu('probe') / 1e6;
    return { id: spec.id, op: spec.op, shape: spec.shape, ms, gflops, peakGflops, pct: (100 * gflops) / peakGflops };
  } finally {
    prepared.dispose();
  }
}

/** Runs `fn` for at least `ms` (and 5 calls); returns the time per call over the second half. */
function warmUp(fn: () => void, clock: Clock, ms: number): number {
  const t0 = clock();
  let calls = 0;
  while (calls < 5 || clock() - t0 < ms / 2) { fn(); calls++; }
  const t1 = clock();
  let later = 0;
  while (later < 3 || clock() - t1 < ms / 2) { fn(); later++; }
  return Math.max(1e-3, (clock() - t1) / later);
}

/** The report as a Markdown table with a heading line: what the page copies and bench:engines collects. */
export function formatEngineReport(report: EngineReport): string {
  const lines = [
    `Engine: ${report.engine}. SIMD128 peak measured here: ${report.peakGflops.toFixed(1)} GFLOP/s ` +
      `(12 chains of f32x4.mul + f32x4.add, ${report.probe.chosen} form; first estimates: constant ` +
      `${report.probe.gflops.constant.toFixed(1)}, variable ${report.probe.gflops.variable.toFixed(1)}). ` +
      `Wall clock, medians${report.quick ? ', --quick' : ''}; ${(report.ms / 1000).toFixed(1)} s.`,
    '',
    '| kernel | shape | ms | GFLOP/s | peak beside it | % of peak |',
    '| --- | --- | --- | --- | --- | --- |',
    ...report.rows.map((r) => `| ${r.op} | ${r.shape} | ${r.ms.toFixed(r.ms < 10 ? 2 : 1)} | ${r.gflops.toFixed(1)} | ` +
      `${r.peakGflops.toFixed(1)} | ${r.pct.toFixed(0)}% |`),
  ];
  return lines.join('\n');
}
