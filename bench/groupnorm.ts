/**
 * Group normalisation forward + backward (assembly/groupnorm.ts) on [16, 64, 32, 32] with 32 groups: the
 * forward saving its statistics, then the backward's dx, dgamma and dbeta, as the U-Net's GroupNorm layer runs
 * them. Memory-bound, so no GFLOP/s: the targets are within 2x of PyTorch's fused kernels and at least 20x
 * TF.js-wasm, which has no group norm op and composes it from reshape + moments, differentiated by `tf.grads`.
 */
import { GROUP_NORM_SHAPE, kernel } from './kernels.ts';
import { pseudoRandom, timeCases, type Case } from './measure.ts';
import type { Context, Row } from './report.ts';
import { tidyVoid, type TfModule } from './tfjs.ts';
import { torchRatio } from './torch.ts';

const { N, C, H, W, G } = GROUP_NORM_SHAPE;
const EPS = 1e-5;

export async function benchGroupNorm(ctx: Context): Promise<Row[]> {
  ctx.log('group norm');
  const spec = kernel('groupNorm');
  const ours = spec.prepare();
  const cases: Case[] = [{ name: 'ours', fn: ours.run, iterations: 10 }, { name: 'scalar', fn: ours.scalar, warmup: 5, iterations: 2 }];
  const tf = ctx.tf ? tfGroupNorm(ctx.tf) : null;
  if (tf) cases.push({ name: 'tf', fn: tf.run, warmup: 5, iterations: 2 });
  try {
    const t = await timeCases(cases, ctx.rounds);
    const ms = t.cpu('ours');
    const tfRatio = t.has('tf') ? t.cpu('tf') / ms : undefined;
    const torch = torchRatio(ctx.torch, 'groupNorm', ms);
    const met = (tfRatio === undefined || tfRatio >= 20) && (torch === undefined || torch >= 0.5);
    // Bytes: forward reads x twice (statistics, then normalise) and writes y; backward reads x and dy twice
    // (sums, then dx) and writes dx: 8 passes over a 4 MiB tensor at least.
    const gbPerS = (8 * N * C * H * W * 4) / ms / 1e6;
    ctx.notes.push(`group norm forward+backward moves at least 8 × 4 MiB: ${gbPerS.toFixed(0)} GB/s at ${ms.toFixed(2)} ms ` +
      '(the tensor fits in the L3 cache of most machines).');
    return [{
      op: spec.op, shape: spec.shape, ms, tf: tfRatio, torch, simd: t.cpu('scalar') / ms,
      target: '≥ 0.5× PyTorch, ≥ 20× TF.js', met: tfRatio === undefined && torch === undefined ? undefined : met,
    }];
  } finally {
    ours.dispose();
    tf?.dispose();
  }
}

/** TF.js's group norm: NHWC, channels split into G groups of C/G, moments over (H·W, C/G), then the affine. */
function tfGroupNorm(tf: TfModule) {
  const x = tf.tensor4d(pseudoRandom(N * C * H * W, 1), [N, H, W, C]);
  const dy = tf.tensor4d(pseudoRandom(N * C * H * W, 2), [N, H, W, C]);
  const gamma = tf.tensor1d(pseudoRandom(C, 3)), beta = tf.tensor1d(pseudoRandom(C, 4));
  const groupNorm = (xs: typeof x, g: typeof gamma, b: typeof beta) => {
    const grouped = xs.reshape([N, H * W, G, C / G]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalised = grouped.sub(mean).mul(tf.rsqrt(variance.add(EPS))).reshape([N, H, W, C]);
    return normalised.mul(g).add(b);
  };
  // L = <y, dy>, so the gradients are those of the backward pass given dy.
  const gradients = tf.grads((xs, g, b) => groupNorm(xs as typeof x, g as typeof gamma, b as typeof beta).mul(dy).sum());
  return {
    run: () => tidyVoid(tf, () => gradients([x, gamma, beta])),
    dispose: () => [x, dy, gamma, beta].forEach((t) => t.dispose()),
  };
}
