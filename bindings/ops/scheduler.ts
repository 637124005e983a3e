/**
 * The per-element work of the diffusion schedulers (assembly/scheduler.ts): `schedulerAddNoise`, a per-item
 * weighted sum a[n]·x + b[n]·y (forward noising, and the v-prediction target); `schedulerStep`, one generic
 * reverse step whose float64 coefficients say which scheduler and parameterisation it is; `schedulerCombine`, a
 * linear combination of up to MAX_COMBINE_TERMS tensors (the multistep solvers' updates); and
 * `schedulerThreshold`, dynamic thresholding per batch item (Saharia et al. 2022). The schedulers in
 * bindings/schedulers/ compute the coefficients; these ops only validate, allocate and call the kernels.
 *
 * Precision: each element is combined in float64 and rounded to float32 once, when stored.
 */
import { allocator } from '../core/allocator.ts';
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, numberArg, sameShape, tensorArg } from './check.ts';

/**
 * The float64 coefficients of one reverse step, element by element (s = sample, m = model output, z = noise):
 *
 *   x0   = clamp(a·s + b·m, -clipRange, clipRange)       the predicted clean sample
 *   eps  = c·s + d·m + e·x0                               the predicted noise
 *   prev = f·x0 + g·s + h·eps + sigma·z                   the previous sample
 */
export interface StepCoefficients {
  a: number; b: number; c: number; d: number; e: number; f: number; g: number; h: number;
  /** Scale of the noise; the noise term is skipped entirely when no noise tensor is given. */
  sigma: number;
  /** Bound of the clamp on x0; Infinity for no clipping. */
  clipRange: number;
}

const COEFFICIENT_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'sigma'] as const;

/**
 * One generic scheduler step (see `StepCoefficients`): from `sample` x_t and `modelOutput` (same shape), returns
 * the previous sample and the predicted clean sample (after clipping), both of the shape of `sample`. `noise`
 * (same shape) is added with scale `sigma` when given.
 */
export function schedulerStep(
  sample: Tensor, modelOutput: Tensor, coefficients: StepCoefficients, noise: Tensor | null = null,
): { prevSample: Tensor; predOriginalSample: Tensor } {
  const op = 'schedulerStep';
  const shape = tensorArg(op, 'sample', sample);
  sameShape(op, 'sample', shape, 'modelOutput', tensorArg(op, 'modelOutput', modelOutput));
  if (noise !== null) sameShape(op, 'sample', shape, 'noise', tensorArg(op, 'noise', noise));
  const k = checkCoefficients(op, coefficients);
  const prevSample = new Tensor(shape);
  const predOriginalSample = new Tensor(shape);
  wasm().schedulerStep(prevSample.ptr, predOriginalSample.ptr, sample.ptr, modelOutput.ptr, noise?.ptr ?? 0,
    sample.size, k.a, k.b, k.c, k.d, k.e, k.f, k.g, k.h, k.sigma, k.clipRange);
  return { prevSample, predOriginalSample };
}

/**
 * out[n] = a[n]·x[n] + b[n]·y[n] for each batch item n (the first dimension of `x` and `y`, which have the same
 * shape); `a` and `b` hold one float64 coefficient per item. Schedulers use it for x_t = sqrt(ab_t)·x0 +
 * sqrt(1 - ab_t)·noise and for the v target sqrt(ab_t)·noise - sqrt(1 - ab_t)·x0.
 */
export function schedulerAddNoise(x: Tensor, y: Tensor, a: ArrayLike<number>, b: ArrayLike<number>): Tensor {
  const op = 'schedulerAddNoise';
  const shape = tensorArg(op, 'x', x);
  sameShape(op, 'x', shape, 'y', tensorArg(op, 'y', y));
  if (shape.length === 0) throw new Error(`${op}: x must have a batch dimension, got shape ${fmt(shape)}`);
  const N = shape[0];
  const M = N === 0 ? 0 : x.size / N;
  const coefficients = new Float64Array(2 * N);
  for (const [name, values, lane] of [['a', a, 0], ['b', b, 1]] as const) {
    if (values.length !== N) throw new Error(`${op}: ${name} has ${values.length} coefficients, x ${fmt(shape)} has ${N} items`);
    for (let n = 0; n < N; n++) coefficients[2 * n + lane] = numberArg(op, `${name}[${n}]`, values[n]);
  }
  const out = new Tensor(shape);
  const ptr = allocator.alloc(coefficients.byteLength);
  try {
    new Float64Array(wasm().memory.buffer, ptr, 2 * N).set(coefficients);
    wasm().schedulerAddNoise(out.ptr, x.ptr, y.ptr, ptr, N, M);
  } finally {
    allocator.release(ptr);
  }
  return out;
}

function checkCoefficients(op: string, k: StepCoefficients): StepCoefficients {
  if (typeof k !== 'object' || k === null) throw new Error(`${op}: coefficients must be an object {a, b, ..., sigma, clipRange}`);
  for (const name of COEFFICIENT_NAMES) numberArg(op, `coefficients.${name}`, k[name]);
  if (typeof k.clipRange !== 'number' || !(k.clipRange > 0)) {
    throw new Error(`${op}: coefficients.clipRange must be a positive number (Infinity for no clipping), got ${String(k.clipRange)}`);
  }
  return k;
}

/** The most tensors one `schedulerCombine` takes (a third-order solver with noise needs 5). */
export const MAX_COMBINE_TERMS = 8;

/** One term of `schedulerCombine`: a tensor and its float64 coefficient. */
export type CombineTerm = readonly [Tensor, number];

/**
 * sum_k coefficient_k · tensor_k, element by element, accumulated in float64 in the order given and rounded to
 * float32 once; clamped to [-clipRange, clipRange] when `clipRange` is given (default Infinity: no clamp). Every
 * tensor has the shape of the first; returns a new tensor of that shape.
 */
export function schedulerCombine(terms: readonly CombineTerm[], clipRange = Infinity): Tensor {
  const op = 'schedulerCombine';
  if (!Array.isArray(terms) || terms.length < 1 || terms.length > MAX_COMBINE_TERMS) {
    throw new Error(`${op}: terms must be an array of 1 to ${MAX_COMBINE_TERMS} [tensor, coefficient] pairs, got ${Array.isArray(terms) ? `${terms.length} terms` : typeof terms}`);
  }
  const shape = tensorArg(op, 'terms[0][0]', terms[0]?.[0]);
  terms.forEach((term, k) => {
    if (!Array.isArray(term) || term.length !== 2) throw new Error(`${op}: terms[${k}] must be a [tensor, coefficient] pair`);
    sameShape(op, 'terms[0][0]', shape, `terms[${k}][0]`, tensorArg(op, `terms[${k}][0]`, term[0]));
    numberArg(op, `terms[${k}][1]`, term[1]);
  });
  if (typeof clipRange !== 'number' || !(clipRange > 0)) {
    throw new Error(`${op}: clipRange must be a positive number (Infinity for no clamp), got ${String(clipRange)}`);
  }
  const K = terms.length;
  const out = new Tensor(shape);
  // One block: K f64 coefficients, then K u32 pointers.
  const block = allocator.alloc(K * 12);
  try {
    const memory = wasm().memory.buffer;
    new Float64Array(memory, block, K).set(terms.map(([, c]) => c));
    new Uint32Array(memory, block + K * 8, K).set(terms.map(([t]) => t.ptr));
    wasm().schedulerCombine(out.ptr, block + K * 8, block, K, out.size, clipRange);
  } finally {
    allocator.release(block);
  }
  return out;
}

/**
 * Dynamic thresholding (Saharia et al. 2022; diffusers' `_threshold_sample`): for each batch item n (the first
 * dimension), s_n = clamp(quantile(|x_n|, ratio), 1, maxValue) and x_n -> clamp(x_n, -s_n, s_n) / s_n. The
 * quantile interpolates linearly between order statistics, as torch.quantile does. Returns the new tensor and
 * the scales s_n. `ratio` in [0, 1]; `maxValue` > 0 (with maxValue 1 it is plain clipping to [-1, 1]).
 */
export function schedulerThreshold(x: Tensor, ratio: number, maxValue: number): { sample: Tensor; scales: Float64Array } {
  const op = 'schedulerThreshold';
  const shape = tensorArg(op, 'x', x);
  if (shape.length < 2) throw new Error(`${op}: x must be a batch [N, ...], got shape ${fmt(shape)}`);
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) throw new Error(`${op}: ratio must be a number in [0, 1], got ${String(ratio)}`);
  numberArg(op, 'maxValue', maxValue, true);
  const N = shape[0];
  const M = N === 0 ? 0 : x.size / N;
  if (M === 0) throw new Error(`${op}: x has no elements per item (shape ${fmt(shape)})`);
  const sample = new Tensor(shape);
  // N f64 scales, then the 256 u32 histogram of the radix selection.
  const block = allocator.alloc(N * 8 + 1024);
  try {
    wasm().schedulerThreshold(sample.ptr, block, x.ptr, block + N * 8, N, M, ratio, maxValue);
    return { sample, scales: new Float64Array(wasm().memory.buffer, block, N).slice() };
  } finally {
    allocator.release(block);
  }
}
