/**
 * Memory of a short training run of the benchmark's U-Net (batch 16, 1 worker), in a fresh Node process so that
 * nothing else of the benchmark (its kernel buffers, TF.js) counts: the peak resident set size, and the
 * WebAssembly heap (`memoryStats()`) after the first step and after the last, which must be the same: a step
 * allocates and frees the same blocks every time.
 *
 * The parent calls `benchMemory`; the child is this file run with `--child <steps>`, printing JSON.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { init } from '../bindings/core/instance.ts';
import { memoryStats } from '../bindings/tensor.ts';
import type { Context } from './report.ts';
import { BENCH_BATCH, benchTrainer } from './training.ts';

const STEPS = 4;
const MiB = 1024 * 1024;

interface Snapshot { rss: number; heapBytes: number; liveBytes: number }
interface ChildReport { before: Snapshot; afterFirst: Snapshot; afterLast: Snapshot; peakRss: number; steps: number }

/** Runs the child and returns a Markdown section (nothing with --quick). */
export async function benchMemory(ctx: Context): Promise<string> {
  if (ctx.quick) return '';
  ctx.log(`memory: ${STEPS} training steps in a fresh process`);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(STEPS)],
    { cwd: root, encoding: 'utf8', timeout: 600_000 });
  let r: ChildReport;
  try {
    r = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return `Memory: the child process failed (${(result.stderr || String(result.error)).trim().split('\n').pop()}).`;
  }
  const flat = r.afterFirst.heapBytes === r.afterLast.heapBytes && r.afterFirst.liveBytes === r.afterLast.liveBytes;
  const mib = (bytes: number) => (bytes / MiB).toFixed(1);
  const line = (what: string, s: Snapshot) => `| ${what} | ${mib(s.rss)} | ${mib(s.heapBytes)} | ${mib(s.liveBytes)} |`;
  return [
    `| memory, ${r.steps} training steps (batch ${BENCH_BATCH}, 1 worker, fresh process) | RSS MiB | wasm heap MiB | wasm live MiB |`,
    '| --- | --- | --- | --- |',
    line('model and trainer built', r.before),
    line('after step 1', r.afterFirst),
    line(`after step ${r.steps}`, r.afterLast),
    `| peak RSS of the run | ${mib(r.peakRss)} | - | - |`,
    '',
    `Wasm heap flat from step 1 to step ${r.steps} (target): ${flat ? 'yes' : '**no**'}.`,
  ].join('\n');
}

async function child(steps: number): Promise<void> {
  await init();
  const snapshot = (): Snapshot => ({ rss: process.memoryUsage().rss, ...memoryStats() });
  const trainer = benchTrainer(BENCH_BATCH, 1);
  const before = snapshot();
  await trainer.trainStep();
  const afterFirst = snapshot();
  for (let i = 1; i < steps; i++) await trainer.trainStep();
  const afterLast = snapshot();
  // maxRSS is in KiB; it covers the whole process, which did nothing but this run.
  const report: ChildReport = { before, afterFirst, afterLast, peakRss: process.resourceUsage().maxRSS * 1024, steps };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (process.argv.includes('--child') && fileURLToPath(import.meta.url) === process.argv[1]) {
  await child(Number(process.argv[process.argv.indexOf('--child') + 1]));
}
