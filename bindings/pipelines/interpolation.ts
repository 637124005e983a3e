/**
 * Interpolation in a diffusion model's latent space: spherical interpolation (slerp; Shoemake 1985, as White
 * 2016 recommends for Gaussian latents, whose norms concentrate on a sphere: a straight line between two noises
 * passes through latents of too small a norm, which sample blurred images) between two initial noises, or
 * between two images through their DDIM inversions (Song et al. 2021, section 5.4), then one deterministic
 * sampling run for all the frames.
 *
 *   slerp(a, b, w) = sin((1 - w) θ) / sin θ · a + sin(w θ) / sin θ · b,   cos θ = <a, b> / (|a| |b|)
 *
 * θ comes from float64 sums in WebAssembly (sumOfSquares, mseLoss: <a, b> = (|a|² + |b|² - |a - b|²) / 2) and
 * acos and sin from the wasm core, so the frames have the same bits in every runtime. Nearly parallel a and b
 * (|cos θ| > 0.9995) are interpolated linearly, as the usual implementations do, where sin θ would lose its digits.
 */
import { acos, sin } from '../ops/math.ts';
import { mseLoss, sumOfSquares } from '../ops/elementwise.ts';
import { sameShape, tensorArg } from '../ops/check.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import { Tensor, tidy } from '../tensor.ts';
import type { DiffusionPipeline, StepInfo } from './pipeline.ts';

/** Above this |cos θ|, slerp falls back to linear interpolation. */
const PARALLEL = 0.9995;

/**
 * Spherical interpolation between `a` and `b` (tensors of one shape [1, ...] or [...]) at each of `weights`
 * (0 gives a, 1 gives b; any finite number): [weights.length, ...] with the batch dimension of `a` dropped.
 */
export function slerp(a: Tensor, b: Tensor, weights: ArrayLike<number>): Tensor {
  const op = 'slerp';
  const shape = tensorArg(op, 'a', a);
  sameShape(op, 'a', shape, 'b', tensorArg(op, 'b', b));
  if (typeof weights !== 'object' || weights === null || typeof weights.length !== 'number' || weights.length < 1) {
    throw new Error(`${op}: weights must be a non-empty array of numbers, got ${String(weights)}`);
  }
  for (let i = 0; i < weights.length; i++) {
    if (typeof weights[i] !== 'number' || !Number.isFinite(weights[i])) throw new Error(`${op}: weights[${i}] must be a finite number, got ${String(weights[i])}`);
  }
  const item = shape[0] === 1 && shape.length > 1 ? shape.slice(1) : shape;
  const aa = sumOfSquares(a), bb = sumOfSquares(b);
  if (aa === 0 || bb === 0) throw new Error(`${op}: ${aa === 0 ? 'a' : 'b'} is all zeros: it has no direction to interpolate`);
  const dot = (aa + bb - mseLoss(a, b) * a.size) / 2;
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(aa * bb)));
  const theta = acos(cos), sinTheta = sin(theta);
  const coefficients = Array.from(weights, (w) => Math.abs(cos) > PARALLEL
    ? [1 - w, w]
    : [sin((1 - w) * theta) / sinTheta, sin(w * theta) / sinTheta]);
  const out = new Tensor([weights.length, ...item]);
  tidy(() => {
    coefficients.forEach(([onA, onB], i) => {
      const frame = schedulerCombine([[a, onA], [b, onB]]);
      out.view().set(frame.view(), i * frame.size);
    });
  });
  return out;
}

/** One end of an interpolation: the initial noise of a seed, or an image (inverted with DDIM). */
export type InterpolationEnd = { seed: number } | { image: Tensor };

export interface InterpolateOptions {
  /** The first frame's end: `{ seed }` (its noise, sample 0 of the seed) or `{ image }` ([1, ...model.sampleShape], inverted). */
  from: InterpolationEnd;
  /** The last frame's end. */
  to: InterpolationEnd;
  /** How many frames, at weights 0, 1/(frames - 1), ..., 1: an integer >= 2. */
  frames: number;
  /** Sampling (and inversion) steps. Default: the pipeline's default steps. */
  numInferenceSteps?: number;
  /** One label per frame for class-conditional models; an image end is inverted with its frame's label. */
  classLabels?: Int32Array | number[];
  /**
   * Classifier-free guidance of the sampling run, and of the inversion of an image end (so that the same model
   * function runs both ways; 0 is the unconditional model). Default 1.
   */
  guidanceScale?: number;
  /** Called after every sampling step. */
  onStep?: (info: StepInfo) => void | Promise<void>;
}

/**
 * The frames [frames, ...model.sampleShape] between two seeds or two images (see InterpolateOptions): slerp of
 * the two latents, sampled in one run. With a DDIMPipeline (eta 0) the path is deterministic and an image end is
 * drawn back as it was inverted (closely: inversion is approximate); a stochastic sampler adds each frame's noise.
 */
export async function interpolate(pipeline: DiffusionPipeline, options: InterpolateOptions): Promise<Tensor> {
  const op = 'interpolate';
  const { from, to, frames, numInferenceSteps = pipeline.defaultSteps, classLabels, guidanceScale, onStep } = options;
  if (!Number.isSafeInteger(frames) || frames < 2) throw new Error(`${op}: frames must be an integer >= 2, got ${String(frames)}`);
  const labels = classLabels === undefined ? null : Array.from(classLabels);
  if (labels && labels.length !== frames) throw new Error(`${op}: ${labels.length} classLabels for ${frames} frames (one per frame)`);
  const ends: Tensor[] = [];
  try {
    for (const [key, end, label] of [['from', from, labels?.[0]], ['to', to, labels?.[frames - 1]]] as const) {
      ends.push(await latentOf(pipeline, `${op}: ${key}`, end, numInferenceSteps, label, guidanceScale));
    }
    const weights = Array.from({ length: frames }, (_, i) => (i === frames - 1 ? 1 : i / (frames - 1)));
    const latents = slerp(ends[0], ends[1], weights);
    try {
      return await pipeline.generate({
        batchSize: frames, latents, numInferenceSteps, ...(labels && { classLabels: labels }),
        ...(guidanceScale !== undefined && { guidanceScale }), ...(onStep && { onStep }),
      });
    } finally {
      latents.dispose();
    }
  } finally {
    for (const end of ends) end.dispose();
  }
}

/** The latent of one end: the seed's noise, or the image's DDIM inversion (a new tensor [1, ...]). */
async function latentOf(pipeline: DiffusionPipeline, name: string, end: InterpolationEnd, steps: number, label: number | undefined, guidanceScale: number | undefined): Promise<Tensor> {
  if (end === null || typeof end !== 'object' || ('seed' in end) === ('image' in end)) {
    throw new Error(`${name} must be { seed } or { image }, got ${end === null ? 'null' : typeof end === 'object' ? `{ ${Object.keys(end).join(', ')} }` : String(end)}`);
  }
  if ('seed' in end) return pipeline.prepareLatents({ seed: end.seed });
  const shape = tensorArg(name, 'image', end.image);
  if (shape[0] !== 1) throw new Error(`${name}: image must be one image [1, ${pipeline.model.sampleShape.join(', ')}], got [${shape.join(', ')}]`);
  return pipeline.invert({
    image: end.image, numInferenceSteps: steps, ...(label !== undefined && { classLabels: [label] }), ...(guidanceScale !== undefined && { guidanceScale }),
  });
}
