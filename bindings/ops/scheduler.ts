/**
 * The per-element work of the diffusion schedulers (assembly/scheduler.ts): `schedulerAddNoise`, a per-item
 * weighted sum a[n]·x + b[n]·y (forward noising, and the v-prediction target), and `schedulerStep`, one generic
 * reverse step whose float64 coefficients say which scheduler and parameterisation it is. The schedulers in
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
