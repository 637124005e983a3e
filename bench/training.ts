/**
 * The whole training step, as a user runs it: `Trainer.trainStep()` (a batch drawn and noised, forward and
 * backward over the gradient shards, clipping, AdamW, the EMA) on a U-Net built from the library's own
 * UNet2DModel config, close to the one in the project's performance notes. Its flops are counted from the
 * config (bench/flops.ts), so GFLOP/s and % of peak compare it with the kernels. Target: at least 65% of peak.
 *
 * Both cores: the same step with `workers: 2` against 1, the two trainers stepping alternately (target: at
 * least 1.7x). Their weights must stay bit-identical, which the benchmark checks at the end.
 */
import { loadavg } from 'node:os';
import { DDPMScheduler } from '../bindings/schedulers/index.ts';
import { ArrayDataset } from '../bindings/data/dataset.ts';
import { UNet2DModel } from '../bindings/models/unet2d.ts';
import type { UNet2DConfig } from '../bindings/models/unet2d-config.ts';
import { Trainer } from '../bindings/train/trainer.ts';
import { unetFlops } from './flops.ts';
import { cpuNow, parallelCapacity, probeCase, pseudoRandom, timeCases, type Case, type Timings } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { tfUNetTrainer } from './tfjs-unet.ts';

/** The benchmark's U-Net: 64 channels at 32x32, 128 at 16x16 with 4-head attention, GroupNorm(32). */
export const BENCH_UNET = {
  sampleSize: 32, inChannels: 3, blockOutChannels: [64, 128], layersPerBlock: 1, attentionResolutions: [16],
  numHeads: 4, normNumGroups: 32,
} satisfies UNet2DConfig;
export const BENCH_BATCH = 16;
const QUICK_BATCH = 4;

const TARGET_PEAK_PCT = 65;
const TARGET_SPEEDUP = 1.7;

/** A trainer of the benchmark's U-Net on random images (the data does not change the work). */
export function benchTrainer(batchSize: number, workers: number): Trainer {
  const [C, S] = [BENCH_UNET.inChannels, BENCH_UNET.sampleSize];
  const dataset = new ArrayDataset('random', pseudoRandom(4 * batchSize * C * S * S, 7), [C, S, S]);
  return new Trainer({ model: new UNet2DModel(BENCH_UNET, 0), scheduler: new DDPMScheduler(), dataset, batchSize, workers });
}

export async function benchTraining(ctx: Context): Promise<Row[]> {
  const batch = ctx.quick ? QUICK_BATCH : BENCH_BATCH;
  ctx.log(`training step, batch ${batch}, 1 and 2 workers${ctx.tf && !ctx.quick ? ', and TF.js' : ''}`);
  const one = benchTrainer(batch, 1), two = benchTrainer(batch, 2);
  const tfTrainer = ctx.quick ? null : tryTfTrainer(ctx, batch);
  try {
    // Warm-up: V8 tiers the wasm up, and the first 2-worker step starts the worker. Both trainers take the
    // same number of steps throughout, so their weights can be compared at the end.
    for (let i = 0; i < 2; i++) {
      await one.trainStep();
      await two.trainStep();
    }
    const estimate = await timeOneStep(one);
    await two.trainStep();
    const { probe, gflops: probeRate } = probeCase('probe', estimate, ctx.peakPerMs);
    const cases: Case[] = [
      { name: 'one', fn: () => one.trainStep(), async: true, warmup: 0, iterations: 1 },
      { name: 'two', fn: () => two.trainStep(), async: true, warmup: 0, iterations: 1 },
      { ...probe, warmup: 1, iterations: 1 },
    ];
    // TF.js's step takes several seconds: one warm-up step (taken in tryTfTrainer) and two timed.
    if (tfTrainer) cases.push({ name: 'tf', fn: tfTrainer.step, warmup: 0, iterations: 1, rounds: 2 });
    const t = await timeCases(cases, Math.min(4, ctx.rounds));
    const capacity = await parallelCapacity();
    return trainingRows(ctx, t, batch, probeRate(t.cpu('probe')), { one, two, capacity }, tfTrainer?.parameters);
  } finally {
    await one.dispose();
    await two.dispose();
    tfTrainer?.dispose();
    for (const t of [one, two]) {
      t.model.params.values.dispose();
      t.model.params.grads.dispose();
    }
  }
}

/**
 * The two rows. One worker: CPU time, like the kernels. Two workers: wall-clock time (CPU time would add both
 * threads), against one worker's wall-clock time in the same rounds.
 */
function trainingRows(ctx: Context, t: Timings, batch: number, probeGflops: number,
  { one, two, capacity }: { one: Trainer; two: Trainer; capacity: number }, tfParameters?: number): Row[] {
  const flops = unetFlops(BENCH_UNET, batch);
  const identical = sameBits(one, two);
  const ms = t.cpu('one'), msTwo = t.wall('two');
  const rate = gflops(flops.step, ms), peakPct = (100 * rate) / probeGflops;
  const speedup = t.wall('one') / msTwo;
  const shape = `batch ${batch} of 3×32×32, ${(one.model.params.size / 1e6).toFixed(2)} M params`;
  ctx.notes.push(`Training step: ${(flops.step / 1e9).toFixed(1)} GFLOP per step counted from the config (forward ` +
    `${(flops.forward / 1e9).toFixed(1)}; convolutions ${pct(flops.byKind.conv, flops.step)}, linears ` +
    `${pct(flops.byKind.linear, flops.step)}, attention cores ${pct(flops.byKind.attention, flops.step)}); U-Net ` +
    `${JSON.stringify(BENCH_UNET)}, Trainer defaults (4 gradient shards, clipping, AdamW, EMA).`);
  ctx.notes.push(`Two workers: after ${one.step} steps each, the 1- and 2-worker weights are ` +
    `${identical ? 'bit-identical' : '**NOT bit-identical**'}. The 2-worker step used ${t.cpu('two').toFixed(0)} ms of CPU ` +
    `over both threads against ${ms.toFixed(0)} ms for 1 worker (${signedPct(t.cpu('two') / ms - 1)}). Its wall-clock ` +
    `speed-up needs a second free core: this process ran on ${share(t, 'one')} cores' worth of CPU (CPU time / wall ` +
    `time) during the 1-worker steps and ${share(t, 'two')} during the 2-worker ones, and a control, two threads ` +
    `spinning against one, got ${capacity.toFixed(2)}× the CPU (2× on idle cores; load average ` +
    `${loadavg()[0].toFixed(1)}, and Linux shares the CPU between sessions when sched_autogroup is on).`);
  const tf = tfCell(ctx, t, one.model.params.size, tfParameters);
  return [
    { op: 'training step, 1 worker', shape, ms, gflops: rate, peakPct, tf, torch: ctx.torch ? 'not measured' : undefined,
      target: `≥ ${TARGET_PEAK_PCT}% of peak`, met: peakPct >= TARGET_PEAK_PCT },
    { op: 'training step, 2 workers (both cores; wall clock)', shape, ms: msTwo, gflops: gflops(flops.step, msTwo),
      target: `≥ ${TARGET_SPEEDUP}× 1 worker's ${t.wall('one').toFixed(0)} ms wall: ${speedup.toFixed(2)}× ` +
        `(control: 2 threads got ${capacity.toFixed(2)}× the CPU of 1)`,
      met: speedup >= TARGET_SPEEDUP && identical },
  ];
}

/** The TF.js version of the step, or null (with a note) when TF.js is missing or cannot build it. */
function tryTfTrainer(ctx: Context, batch: number): ReturnType<typeof tfUNetTrainer> | null {
  if (!ctx.tf) return null;
  try {
    const trainer = tfUNetTrainer(ctx.tf, BENCH_UNET, batch);
    trainer.step();
    return trainer;
  } catch (error) {
    ctx.notes.push(`TF.js could not run the U-Net's training step: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}

async function timeOneStep(trainer: Trainer): Promise<number> {
  const t0 = cpuNow();
  await trainer.trainStep();
  return cpuNow() - t0;
}

/** The TF.js cell: its step time / ours, or why there is none. */
function tfCell(ctx: Context, t: Timings, ours: number, theirs?: number): number | string | undefined {
  if (!ctx.tf) return undefined;
  if (!t.has('tf')) return ctx.quick ? 'skipped (--quick)' : 'could not run (see the notes)';
  ctx.notes.push(`TF.js training step: the same U-Net rebuilt in TF.js (bench/tfjs-unet.ts, ${theirs} parameters, ours ` +
    `${ours}${theirs === ours ? ': the same' : ': **they differ**'}), both conv gradients hand-written as forward ` +
    `convolutions (it has no filter-gradient kernel), Adam, no clipping or EMA: ${(t.cpu('tf') / 1000).toFixed(2)} s per step.`);
  return t.cpu('tf') / t.cpu('one');
}

function sameBits(a: Trainer, b: Trainer): boolean {
  const x = new Uint32Array(a.model.params.values.toFloat32Array().buffer);
  const y = new Uint32Array(b.model.params.values.toFloat32Array().buffer);
  return a.step === b.step && x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Cores' worth of CPU the process had during a case: its CPU time over its wall-clock time. */
function share(t: Timings, name: string): string {
  return (t.cpu(name) / t.wall(name)).toFixed(2);
}

function signedPct(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${Math.abs(100 * fraction).toFixed(1)}%`;
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(0)}%`;
}
