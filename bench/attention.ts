/**
 * The attention core, O = softmax(q·kᵀ/sqrt(D))·v, forward + backward (assembly/attention.ts) on q, k, v of
 * [16, 4, 64, 32] (B, heads, T, D). Two rows: the kernels keeping the probabilities between the passes
 * (`attentionForward` + `attentionBackwardWithProbs`), and the ops the U-Net's attention block calls
 * (`attention` + `attentionBackward`, which recompute them one head at a time to save memory).
 * Targets: at least 10x TF.js-wasm (matMul + softmax differentiated by `tf.grads`), within 3x of PyTorch.
 *
 * Flops: 4·T²·D per head forward (q·kᵀ and P·v), 8·T²·D backward (dv, dP, dq, dk); softmax not counted.
 */
import { wasm } from '../bindings/core/instance.ts';
import { attention, attentionBackward } from '../bindings/ops/attention.ts';
import { Tensor, tidy } from '../bindings/tensor.ts';
import { estimateMs, probeCase, pseudoRandom, timeCases, type Case } from './measure.ts';
import { gflops, type Context, type Row } from './report.ts';
import { tidyVoid, type TfModule } from './tfjs.ts';
import { torchRatio } from './torch.ts';

const [B, HEADS, T, D] = [16, 4, 64, 32];
const BH = B * HEADS;
const FLOPS = 12 * T * T * D * BH;
/** PyTorch's attention core fwd+bwd in the notes (one thread, optimised BLAS). */
const NOTES_TORCH_MS = 2.0;

export async function benchAttention(ctx: Context): Promise<Row[]> {
  ctx.log('attention');
  const shape = [B, HEADS, T, D];
  const size = BH * T * D;
  const [q, k, v, dO] = [1, 2, 3, 4].map((seed) => Tensor.from(pseudoRandom(size, seed), shape));
  const o = new Tensor(shape), probs = new Tensor([B, HEADS, T, T]), work = new Tensor([T, T]);
  const [dq, dk, dv] = [0, 1, 2].map(() => Tensor.zeros(shape));
  const kernels = (scalar: boolean) => () => {
    const w = wasm();
    (scalar ? w.attentionForwardScalar : w.attentionForward)(o.ptr, probs.ptr, q.ptr, k.ptr, v.ptr, BH, T, D);
    (scalar ? w.attentionBackwardScalar : w.attentionBackward)(dq.ptr, dk.ptr, dv.ptr, dO.ptr, q.ptr, k.ptr, v.ptr,
      probs.ptr, work.ptr, BH, T, D);
  };
  const ops = () => tidy(() => {
    attention(q, k, v);
    attentionBackward(dO, q, k, v, { dq, dk, dv });
  });
  const { probe, gflops: probeRate } = probeCase('probe', await estimateMs(kernels(false)), ctx.peakPerMs);
  const cases: Case[] = [{ name: 'ours', fn: kernels(false) }, { name: 'ops', fn: ops }, probe,
    { name: 'scalar', fn: kernels(true), warmup: 3, iterations: 1 }];
  const tf = ctx.tf ? tfAttention(ctx.tf) : null;
  if (tf) cases.push({ name: 'tf', fn: tf.run, warmup: 5, iterations: 2 });
  try {
    const t = await timeCases(cases, ctx.rounds);
    const probeGflops = probeRate(t.cpu('probe'));
    const row = (name: 'ours' | 'ops', op: string, targeted: boolean): Row => {
      const ms = t.cpu(name);
      const tfRatio = t.has('tf') ? t.cpu('tf') / ms : undefined;
      const torch = torchRatio(ctx.torch, 'attention', ms);
      return {
        op, shape: `[${B}, ${HEADS}, ${T}, ${D}]`, ms, gflops: gflops(FLOPS, ms), peakPct: (100 * gflops(FLOPS, ms)) / probeGflops,
        tf: tfRatio ?? 'not loaded', torch: torch ?? 'not run (notes: 2.0 ms)', simd: t.cpu('scalar') / t.cpu('ours'),
        target: targeted ? '≥ 10× TF.js, ≥ 0.33× PyTorch' : '-',
        met: !targeted || (tfRatio === undefined && torch === undefined) ? undefined : (tfRatio ?? 10) >= 10 && (torch ?? 1) >= 1 / 3,
      };
    };
    // The U-Net's attention layer keeps the probabilities between forward and backward (the kernel pair);
    // the plain ops recompute them in the backward, to hold no B·heads·T² buffer: shown for comparison.
    const rows = [
      row('ours', 'attention core fwd+bwd (probabilities kept, as the U-Net)', true),
      row('ops', 'ops.attention + ops.attentionBackward (recomputes the probabilities)', false),
    ];
    if (ctx.torch?.blas.endsWith('generic')) {
      ctx.notes.push(`attention vs PyTorch: this PyTorch multiplies through the reference BLAS; against the notes' ` +
        `${NOTES_TORCH_MS} ms (PyTorch with an optimised BLAS) ours is ${(NOTES_TORCH_MS / t.cpu('ours')).toFixed(2)}× ` +
        `(probabilities kept) and ${(NOTES_TORCH_MS / t.cpu('ops')).toFixed(2)}× (recomputed); the target is ≥ 0.33×.`);
    }
    return rows;
  } finally {
    for (const x of [q, k, v, dO, o, probs, work, dq, dk, dv]) x.dispose();
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
