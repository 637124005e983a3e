/**
 * Learned reverse-process variances (assembly/learned-variance.ts; Nichol & Dhariwal 2021, eq. 15):
 *
 * - `learnedRangeLogVariance`: log sigma² = frac·maxLog + (1 - frac)·minLog with frac = (v + 1) / 2, the model's
 *   output v interpolating between minLog = log beta~_t and maxLog = log beta_t (diffusers' 'learned_range',
 *   improved-diffusion's LEARNED_RANGE), with one (minLog, maxLog) pair per batch item, and its backward;
 * - `varianceNoise`: mean + exp(0.5 · logVar) · noise, element by element (a reverse step with a variance per
 *   element).
 *
 * Each element is computed in float64 and rounded to float32 once. The first dimension of every tensor is the
 * batch item.
 */
import { allocator } from '../core/allocator.ts';
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, sameShape, tensorArg } from './check.ts';
import { gradientPtr, resolveGradients, type GradientResult, type GradientTargets } from './gradients.ts';

/**
 * The learned-range log-variance of each element of v [N, ...]: frac·maxLog[n] + (1 - frac)·minLog[n] with
 * frac = (v + 1) / 2, for item n. `minLog` and `maxLog` hold one finite float64 per item.
 */
export function learnedRangeLogVariance(v: Tensor, minLog: ArrayLike<number>, maxLog: ArrayLike<number>): Tensor {
  const op = 'learnedRangeLogVariance';
  const { N, M } = items(op, 'v', v);
  checkBounds(op, minLog, maxLog, N);
  const out = new Tensor(v.shape);
  withBounds(minLog, maxLog, N, (bounds) => wasm().learnedRangeLogVariance(out.ptr, v.ptr, bounds, N, M));
  return out;
}

/**
 * The gradient of `learnedRangeLogVariance` with respect to v: dv = dLogVar · (maxLog[n] - minLog[n]) / 2, into
 * `into.dv` (the backward ops' convention, ops/gradients.ts).
 */
export function learnedRangeLogVarianceBackward<I extends GradientTargets<'dv'> = {}>(
  dLogVar: Tensor, minLog: ArrayLike<number>, maxLog: ArrayLike<number>, into?: I,
): GradientResult<I, 'dv'> {
  const op = 'learnedRangeLogVarianceBackward';
  const { N, M } = items(op, 'dLogVar', dLogVar);
  checkBounds(op, minLog, maxLog, N);
  const { dv } = resolveGradients(op, into, { dv: dLogVar.shape }, { distinctFrom: [dLogVar] });
  if (dv !== null) withBounds(minLog, maxLog, N, (bounds) => wasm().learnedRangeLogVarianceBackward(gradientPtr(dv), dLogVar.ptr, bounds, N, M));
  return dv as GradientResult<I, 'dv'>;
}

/** mean + exp(0.5 · logVar) · noise, element by element (the three tensors share a shape). */
export function varianceNoise(mean: Tensor, logVar: Tensor, noise: Tensor): Tensor {
  const op = 'varianceNoise';
  const shape = tensorArg(op, 'mean', mean);
  sameShape(op, 'mean', shape, 'logVar', tensorArg(op, 'logVar', logVar));
  sameShape(op, 'mean', shape, 'noise', tensorArg(op, 'noise', noise));
  const out = new Tensor(shape);
  wasm().varianceNoise(out.ptr, mean.ptr, logVar.ptr, noise.ptr, mean.size);
  return out;
}

function items(op: string, name: string, x: Tensor): { N: number; M: number } {
  const shape = tensorArg(op, name, x);
  if (shape.length === 0) throw new Error(`${op}: ${name} must have a batch dimension [N, ...], got ${fmt(shape)}`);
  return { N: shape[0], M: shape.slice(1).reduce((a, b) => a * b, 1) };
}

function checkBounds(op: string, minLog: ArrayLike<number>, maxLog: ArrayLike<number>, N: number): void {
  for (const [name, values] of [['minLog', minLog], ['maxLog', maxLog]] as const) {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
      throw new Error(`${op}: ${name} must be an array of ${N} numbers (one per item), got ${values === null ? 'null' : typeof values}`);
    }
    if (values.length !== N) throw new Error(`${op}: ${name} has ${values.length} values, the batch has ${N} items`);
    for (let n = 0; n < N; n++) {
      if (typeof values[n] !== 'number' || !Number.isFinite(values[n])) throw new Error(`${op}: ${name}[${n}] must be a finite number, got ${String(values[n])}`);
    }
  }
}

/** The (minLog, maxLog) pairs as interleaved float64 in WebAssembly memory for the duration of `kernel`. */
function withBounds(minLog: ArrayLike<number>, maxLog: ArrayLike<number>, N: number, kernel: (ptr: number) => void): void {
  const ptr = allocator.alloc(16 * Math.max(1, N));
  try {
    const view = new Float64Array(wasm().memory.buffer, ptr, 2 * N);
    for (let n = 0; n < N; n++) {
      view[2 * n] = minLog[n];
      view[2 * n + 1] = maxLog[n];
    }
    kernel(ptr);
  } finally {
    allocator.release(ptr);
  }
}
