/**
 * Classifier-free guidance (Ho & Salimans 2022): a class-conditional model run with the class labels and with
 * the null label, combined as out_uncond + scale * (out_cond - out_uncond); scale 1 is plain conditional output.
 * For a model with labels per attribute, guidance can also compose the attributes with a weight each
 * (`composedGuidedForward`, Liu et al. 2022). A conditioning image (PassOptions.condition) goes with every pass.
 * Both halves run as one batch of 2N (the conditional half first), so each item's bits do not depend on the
 * batch. Sampling pipelines and distillation's guided teacher share it.
 */
import type { PassOptions } from '../nn/context.ts';
import { decodeAttributes, onlyAttribute } from '../core/attribute-labels.ts';
import { addInPlace, concatChannels, concatChannelsBackward, sub } from '../ops/elementwise.ts';
import { schedulerAddNoise } from '../ops/scheduler.ts';
import { Tensor } from '../tensor.ts';
import type { Denoiser } from './denoiser.ts';

/**
 * The model's output for x [N, ...] at per-item timesteps and labels, guided with `scale` (1: no guidance). With
 * `guidedChannels` (a model that predicts its variance after its C-channel prediction), only the first C channels
 * are guided; the rest are the conditional pass's (as GLIDE and improved-diffusion take the variance).
 */
export function guidedForward(
  model: Denoiser, x: Tensor, timesteps: Int32Array, labels: Int32Array, scale: number, options?: PassOptions, guidedChannels?: number,
): Tensor {
  if (scale === 1) return model.forward(x, timesteps, labels, options);
  const N = x.shape[0];
  const both = new Tensor([2 * N, ...x.shape.slice(1)]);
  both.view().set(x.view());
  both.view().set(x.view(), x.size);
  const bothTimesteps = new Int32Array(2 * N);
  bothTimesteps.set(timesteps);
  bothTimesteps.set(timesteps, N);
  const bothLabels = new Int32Array(2 * N).fill(model.numClasses);
  bothLabels.set(labels);
  const out = model.forward(both, bothTimesteps, bothLabels, { ...options, condition: repeated(options?.condition ?? null, 2) });
  // The output's items may be wider than x's (a learned variance's channels).
  const half = [N, ...out.shape.slice(1)];
  const cond = out.subview(0, half), uncond = out.subview(out.size / 2, half);
  const guided = addInPlace(uncond.clone(), sub(cond, uncond), scale);
  if (guidedChannels === undefined) return guided;
  const { da: prediction } = concatChannelsBackward(guided, guidedChannels, { db: null });
  const { db: variance } = concatChannelsBackward(cond, guidedChannels, { da: null });
  return concatChannels(prediction, variance);
}

/** A batch tensor repeated `times` times along the batch (null stays null). */
export function repeated(x: Tensor | null, times: number): Tensor | null {
  if (x === null) return null;
  const out = new Tensor([times * x.shape[0], ...x.shape.slice(1)]);
  for (let k = 0; k < times; k++) out.view().set(x.view(), k * x.size);
  return out;
}

/**
 * Composed guidance over labels per attribute (Liu et al. 2022, "Compositional Visual Generation with Composable
 * Diffusion Models", eq. 10; core/attribute-labels.ts): out(∅) + Σ_a w_a (out(a) - out(∅)), where out(a) is the
 * output conditioned on attribute a's value alone and the sum runs over the attributes each sample names ('any'
 * ones are left out). One batch of (1 + A)·N: the null label first, then each attribute's labels.
 */
export function composedGuidedForward(
  model: Denoiser, x: Tensor, timesteps: Int32Array, labels: Int32Array, weights: readonly number[], options?: PassOptions,
): Tensor {
  const sizes = model.classAttributes!;
  const A = sizes.length, N = x.shape[0];
  const batch = new Tensor([(1 + A) * N, ...x.shape.slice(1)]);
  for (let k = 0; k <= A; k++) batch.view().set(x.view(), k * x.size);
  const allTimesteps = new Int32Array((1 + A) * N);
  for (let k = 0; k <= A; k++) allTimesteps.set(timesteps, k * N);
  const allLabels = new Int32Array((1 + A) * N).fill(model.numClasses);
  for (let a = 0; a < A; a++) allLabels.set(labels.map((label) => onlyAttribute(label, a, sizes)), (1 + a) * N);
  const out = model.forward(batch, allTimesteps, allLabels, { ...options, condition: repeated(options?.condition ?? null, 1 + A) });
  const per = out.size / ((1 + A) * N);
  const unconditional = out.subview(0, [N, ...out.shape.slice(1)]);
  let guided = unconditional.clone();
  for (let a = 0; a < A; a++) {
    const named = labels.map((label) => (decodeAttributes(label, sizes)[a] === sizes[a] ? 0 : 1));
    if (named.every((v) => v === 0)) continue;
    const difference = sub(out.subview((1 + a) * N * per, unconditional.shape), unconditional);
    const next = schedulerAddNoise(guided, difference, new Array(N).fill(1), Array.from(named, (v) => v * weights[a]));
    guided.dispose();
    difference.dispose();
    guided = next;
  }
  return guided;
}
