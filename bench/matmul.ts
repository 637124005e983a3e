/**
 * Square matrix products C = A·B (assembly/matmul.ts): the library's GEMM, which the convolutions, linears and
 * attention all reduce to. Target: at least 90% of the SIMD128 peak at 256 and 512.
 */
import { wasm } from '../bindings/core/instance.ts';
import { Tensor } from '../bindings/tensor.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { tidyVoid } from './tfjs.ts';
import { torchRatio } from './torch.ts';

const TARGET_PEAK_PCT = 90;

export async function benchMatmul(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of [256, 512]) rows.push(await matmulRow(ctx, n));
  if (rows.some((r) => (r.peakPct ?? 0) > 100)) {
    ctx.notes.push('matmul above 100% of the peak: the probe is the issue\'s yardstick, 12 chains of f32x4.mul then ' +
      'f32x4.add, each step waiting on the last; the GEMM\'s micro-kernel issues its mul+add pairs on 8 independent ' +
      'accumulators and can run slightly faster (the notes saw 59-61 GFLOP/s with pre-packed operands).');
  }
  return rows;
}

async function matmulRow(ctx: Context, n: number): Promise<Row> {
  ctx.log(`matmul ${n}`);
  const { tf } = ctx;
  const a = Tensor.from(pseudoRandom(n * n, 1), [n, n]);
  const b = Tensor.from(pseudoRandom(n * n, 2), [n, n]);
  const c = new Tensor([n, n]);
  const flops = 2 * n * n * n;
  const ours = () => wasm().matmul(a.ptr, b.ptr, c.ptr, n, n, n, 0);
  const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(ours), ctx.peakPerMs);
  const cases: Case[] = [{ name: 'ours', fn: ours, iterations: 10 }, { ...probe, iterations: 10 }];
  // The scalar twin is ~50x slower: a few calls suffice (two warm-ups let V8 optimise it).
  if (!ctx.quick || n === 256) {
    cases.push({ name: 'scalar', fn: () => wasm().matmulScalar(a.ptr, b.ptr, c.ptr, n, n, n, 0), warmup: 2, iterations: 1 });
  }
  const tfA = tf?.tensor2d(pseudoRandom(n * n, 1), [n, n]);
  const tfB = tf?.tensor2d(pseudoRandom(n * n, 2), [n, n]);
  if (tf) cases.push({ name: 'tf', fn: () => tidyVoid(tf, () => tf.matMul(tfA!, tfB!)), iterations: 10 });
  try {
    const t = await timeCases(cases, ctx.rounds);
    const ms = t.cpu('ours');
    const peakPct = (100 * gflops(flops, ms)) / probeRate(t.cpu('probe'));
    return {
      op: 'matmul', shape: `${n}×${n}·${n}×${n}`, ms, gflops: gflops(flops, ms), peakPct,
      tf: t.has('tf') ? t.cpu('tf') / ms : 'not loaded', torch: torchRatio(ctx.torch, `matmul${n}`, ms),
      simd: t.has('scalar') ? t.cpu('scalar') / ms : 'skipped (--quick)',
      target: `≥ ${TARGET_PEAK_PCT}% of peak`, met: peakPct >= TARGET_PEAK_PCT,
    };
  } finally {
    for (const t of [a, b, c]) t.dispose();
    tfA?.dispose();
    tfB?.dispose();
  }
}
