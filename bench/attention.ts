/**
 * The attention core, O = softmax(q·kᵀ/sqrt(D))·v, forward + backward (assembly/attention.ts) on q, k, v of
 * [16, 4, 64, 32] (B, heads, T, D). Two rows: the kernels keeping the probabilities between the passes
 * (`attentionForward` + `attentionBackwardWithProbs`), and the ops the U-Net's attention block calls
 * (`attention` + `attentionBackward`, which recompute them one head at a time to save memory).
 * Targets: at least 10x TF.js-wasm (matMul + softmax differentiated by `tf.grads`), within 3x of PyTorch.
 *
 * Flops: 4·T²·D per head forward (q·kᵀ and P·v), 8·T²·D backward (dv, dP, dq, dk); softmax not counted.
 */
import { attention, attentionBackward } from '../bindings/ops/attention.ts';
import { tidy } from '../bindings/tensor.ts';
import { ATTENTION_SHAPE, kernel } from './kernels.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { tidyVoid, type TfModule } from './tfjs.ts';
import { torchBlasCell, torchRatio } from './torch.ts';

const [B, HEADS, T, D] = ATTENTION_SHAPE;
const BH = B * HEADS;

export async function benchAttention(ctx: Context): Promise<Row[]> {
  ctx.log('attention');
  const spec = kernel('attention');
  const ours = spec.prepare();
  const { q, k, v, dO, dq, dk, dv } = ours.tensors;
  const ops = () => tidy(() => {
    attention(q, k, v);
    attentionBackward(dO, q, k, v, { dq, dk, dv });
  });
  const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(ours.run), ctx.peakPerMs);
  const cases: Case[] = [{ name: 'ours', fn: ours.run }, { name: 'ops', fn: ops }, probe,
    { name: 'scalar', fn: ours.scalar, warmup: 3, iterations: 1 }];
  const tf = ctx.tf ? tfAttention(ctx.tf) : null;
  if (tf) cases.push({ name: 'tf', fn: tf.run, warmup: 5, iterations: 2 });
  try {
    const t = await timeCases(cases, ctx.rounds);
    const probeGflops = probeRate(t.cpu('probe'));
    const row = (name: 'ours' | 'ops', op: string, targeted: boolean): Row => {
      const ms = t.cpu(name);
      const tfRatio = t.has('tf') ? t.cpu('tf') / ms : undefined;
      const torch = torchRatio(ctx.torch, 'attention', ms);
      const torchCell = torchBlasCell(ctx.torch, 'attention', ms);
      return {
        op, shape: spec.shape, ms, gflops: gflops(spec.flops, ms), peakPct: (100 * gflops(spec.flops, ms)) / probeGflops,
        tf: tfRatio, torch: torchCell,
        simd: t.cpu('scalar') / t.cpu('ours'), target: targeted ? '≥ 10× TF.js, ≥ 0.33× PyTorch' : '-',
        met: !targeted || (tfRatio === undefined && torch === undefined) ? undefined : (tfRatio ?? 10) >= 10 && (torch ?? 1) >= 1 / 3,
      };
    };
    // The U-Net's attention layer keeps the probabilities between forward and backward (the kernel pair);
    // the plain ops recompute them in the backward, to hold no B·heads·T² buffer: shown for comparison.
    return [
      row('ours', spec.op, true),
      row('ops', 'ops.attention + ops.attentionBackward (recomputes the probabilities)', false),
    ];
  } finally {
    ours.dispose();
    tf?.dispose();
  }
}

/** TF.js: the same core from batched matMul and softmax, gradients wrt q, k, v by `tf.grads` of <O, dO>. */
function tfAttention(tf: TfModule) {
  const shape: [number, number, number, number] = [B, HEADS, T, D];
  const [q, k, v, dO] = [1, 2, 3, 4].map((seed) => tf.tensor4d(pseudoRandom(BH * T * D, seed), shape));
  const core = (qs: typeof q, ks: typeof k, vs: typeof v) =>
    tf.matMul(tf.softmax(tf.matMul(qs, ks, false, true).mul(1 / Math.sqrt(D))), vs);
  const gradients = tf.grads((qs, ks, vs) => core(qs as typeof q, ks as typeof k, vs as typeof v).mul(dO).sum());
  return {
    run: () => tidyVoid(tf, () => gradients([q, k, v])),
    dispose: () => [q, k, v, dO].forEach((t) => t.dispose()),
  };
}
