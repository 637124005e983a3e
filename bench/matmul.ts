/**
 * Square matrix products C = A·B (assembly/matmul.ts): the library's GEMM, which the convolutions, linears and
 * attention all reduce to. Target: at least 90% of the SIMD128 peak at 256 and 512.
 */
import { kernel } from './kernels.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { tidyVoid } from './tfjs.ts';
import { torchBlasCell } from './torch.ts';

const TARGET_PEAK_PCT = 90;

export async function benchMatmul(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of [256, 512]) rows.push(await matmulRow(ctx, n));
  if (rows.some((r) => (r.peakPct ?? 0) > 100)) {
    ctx.notes.push('matmul above 100% of the peak: the probe is the issue\'s yardstick, 12 chains of f32x4.mul then ' +
      'f32x4.add, each step waiting on the last; the GEMM\'s micro-kernel issues its mul+add pairs on 8 independent ' +
      'accumulators and can run slightly faster.');
  }
  return rows;
}

async function matmulRow(ctx: Context, n: number): Promise<Row> {
  ctx.log(`matmul ${n}`);
  const { tf } = ctx;
  const spec = kernel(`matmul${n}`);
  const ours = spec.prepare();
  const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(ours.run), ctx.peakPerMs);
  const cases: Case[] = [{ name: 'ours', fn: ours.run, iterations: 10 }, { ...probe, iterations: 10 }];
  // The scalar twin is ~50x slower: a few calls suffice (two warm-ups let V8 optimise it).
  if (!ctx.quick || n === 256) cases.push({ name: 'scalar', fn: ours.scalar, warmup: 2, iterations: 1 });
  const tfA = tf?.tensor2d(pseudoRandom(n * n, 1), [n, n]);
  const tfB = tf?.tensor2d(pseudoRandom(n * n, 2), [n, n]);
  if (tf) cases.push({ name: 'tf', fn: () => tidyVoid(tf, () => tf.matMul(tfA!, tfB!)), iterations: 10 });
  try {
    const t = await timeCases(cases, ctx.rounds);
    const ms = t.cpu('ours');
    const peakPct = (100 * gflops(spec.flops, ms)) / probeRate(t.cpu('probe'));
    return {
      op: spec.op, shape: spec.shape, ms, gflops: gflops(spec.flops, ms), peakPct,
      tf: t.has('tf') ? t.cpu('tf') / ms : undefined, torch: torchBlasCell(ctx.torch, `matmul${n}`, ms),
      simd: t.has('scalar') ? t.cpu('scalar') / ms : 'skipped (--quick)',
      target: `≥ ${TARGET_PEAK_PCT}% of peak`, met: peakPct >= TARGET_PEAK_PCT,
    };
  } finally {
    ours.dispose();
    tfA?.dispose();
    tfB?.dispose();
  }
}
