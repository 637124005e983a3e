/**
 * Classifier-free guidance (Ho & Salimans 2022): a class-conditional model run with the class labels and with
 * the null label, combined as out_uncond + scale * (out_cond - out_uncond); scale 1 is plain conditional output.
 * Both halves run as one batch of 2N (the conditional half first), so each item's bits do not depend on the
 * batch. Sampling pipelines and distillation's guided teacher share it.
 */
import type { PassOptions } from '../nn/context.ts';
import { addInPlace, sub } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import type { Denoiser } from './denoiser.ts';

/** The model's output for x [N, ...] at per-item timesteps and labels, guided with `scale` (1: no guidance). */
export function guidedForward(
  model: Denoiser, x: Tensor, timesteps: Int32Array, labels: Int32Array, scale: number, options?: PassOptions,
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
  const out = model.forward(both, bothTimesteps, bothLabels, options);
  const cond = out.subview(0, x.shape), uncond = out.subview(x.size, x.shape);
  const guided = uncond.clone();
  return addInPlace(guided, sub(cond, uncond), scale);
}
