/**
 * The likelihood terms of a diffusion model's variational bound (assembly/likelihood.ts), each reduced per batch
 * item to its mean over the item's elements, in nats, in float64 and in a fixed order:
 *
 * - `normalKL`: KL(N(mean1, e^logVar1) || N(mean2, e^logVar2)), element by element (improved-diffusion's normal_kl);
 * - `discretizedGaussianLogLikelihood`: the log-probability of 8-bit data in [-1, 1] under a Gaussian, bin by bin
 *   (Ho et al. 2020, §3.3; improved-diffusion's discretized_gaussian_log_likelihood and its tanh approximation of
 *   the normal CDF);
 * - `gaussianLogLikelihood`: the log-density of continuous data under a Gaussian.
 *
 * Each has a backward with respect to the model's side (the second Gaussian's mean and log-variance; the means and
 * log-scales), for losses that learn the variance (the hybrid loss of Nichol & Dhariwal 2021). Backward ops take
 * dOut (one float64 per item, the gradient of the loss with respect to the op's output) and follow the ops'
 * gradient contract (./gradients.ts): a Tensor in `into` receives the gradient ADDED to what it holds, null skips
 * it, absent allocates it.
 *
 * The first dimension of every tensor is the batch item; the others are reduced. Non-finite inputs give non-finite
 * outputs (the ops do not scan their inputs): check the results with Number.isFinite.
 */
import { allocator } from '../core/allocator.ts';
import { wasm } from '../core/instance.ts';
import type { Tensor, Shape } from '../tensor.ts';
import { sameShape, tensorArg } from './check.ts';
import { gradientPtr, resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

type Ptr = number;
type Backward3 = (dMeans: Ptr, dLogScales: Ptr, dOut: Ptr, x: Ptr, means: Ptr, logScales: Ptr, N: number, M: number) => void;

/**
 * KL(N(mean1, e^logVar1) || N(mean2, e^logVar2)) = 0.5 (-1 + lv2 - lv1 + e^(lv1 - lv2) + (m1 - m2)² e^-lv2) per
 * element, averaged over each batch item: N values in nats (N the first dimension; the four tensors share a shape).
 */
export function normalKL(mean1: Tensor, logVar1: Tensor, mean2: Tensor, logVar2: Tensor): Float64Array {
  const { N, M } = fourShapes('normalKL', mean1, logVar1, mean2, logVar2);
  return perItem(N, (out) => wasm().normalKL(out, mean1.ptr, logVar1.ptr, mean2.ptr, logVar2.ptr, N, M));
}

/**
 * The gradients of `normalKL` with respect to the second Gaussian (the model's): dMean2 = dOut[n] / M · (m2 - m1)
 * e^-lv2 and dLogVar2 = dOut[n] / M · 0.5 (1 - e^(lv1 - lv2) - (m1 - m2)² e^-lv2). `dOut` holds one number per item.
 */
export function normalKLBackward<I extends GradientTargets<'dMean2' | 'dLogVar2'> = {}>(
  dOut: ArrayLike<number>, mean1: Tensor, logVar1: Tensor, mean2: Tensor, logVar2: Tensor, into?: I,
): Gradients<I, 'dMean2' | 'dLogVar2'> {
  const op = 'normalKLBackward';
  const { N, M } = fourShapes(op, mean1, logVar1, mean2, logVar2);
  checkItemValues(op, dOut, N);
  const { dMean2, dLogVar2 } = resolveGradients(op, into, { dMean2: mean2.shape, dLogVar2: mean2.shape }, { distinctFrom: [mean1, logVar1, mean2, logVar2] });
  withItemValues(dOut, N, (g) => wasm().normalKLBackward(gradientPtr(dMean2), gradientPtr(dLogVar2), g, mean1.ptr, logVar1.ptr, mean2.ptr, logVar2.ptr, N, M));
  return { dMean2, dLogVar2 } as Gradients<I, 'dMean2' | 'dLogVar2'>;
}

/**
 * log N(x; means, e^(2 logScales)) per element, averaged over each batch item: N values in nats (a log-density,
 * so it can be positive). The three tensors share a shape.
 */
export function gaussianLogLikelihood(x: Tensor, means: Tensor, logScales: Tensor): Float64Array {
  const { N, M } = threeShapes('gaussianLogLikelihood', x, means, logScales);
  return perItem(N, (out) => wasm().gaussianLogLikelihood(out, x.ptr, means.ptr, logScales.ptr, N, M));
}

/** The gradients of `gaussianLogLikelihood` with respect to the means and the log-scales (dOut: one per item). */
export function gaussianLogLikelihoodBackward<I extends GradientTargets<'dMeans' | 'dLogScales'> = {}>(
  dOut: ArrayLike<number>, x: Tensor, means: Tensor, logScales: Tensor, into?: I,
): Gradients<I, 'dMeans' | 'dLogScales'> {
  return backward3('gaussianLogLikelihoodBackward', wasm().gaussianLogLikelihoodBackward, dOut, x, means, logScales, into);
}

/**
 * The log-probability of 8-bit data under N(means, e^(2 logScales)), averaged over each batch item: N values in
 * nats (<= 0). `x` holds 8-bit values mapped to [-1, 1] (k / 127.5 - 1); each is the centre of a bin of width
 * 2/255, except the bins of -1 and 1 (x < -0.999, x > 0.999), which extend to -inf and +inf. The normal CDF is
 * improved-diffusion's tanh approximation, and every log takes max(P, 1e-12), as improved-diffusion does.
 */
export function discretizedGaussianLogLikelihood(x: Tensor, means: Tensor, logScales: Tensor): Float64Array {
  const { N, M } = threeShapes('discretizedGaussianLogLikelihood', x, means, logScales);
  return perItem(N, (out) => wasm().discretizedGaussianLogLikelihood(out, x.ptr, means.ptr, logScales.ptr, N, M));
}

/**
 * The gradients of `discretizedGaussianLogLikelihood` with respect to the means and the log-scales (dOut: one per
 * item); 0 for the elements whose probability is clamped at 1e-12.
 */
export function discretizedGaussianLogLikelihoodBackward<I extends GradientTargets<'dMeans' | 'dLogScales'> = {}>(
  dOut: ArrayLike<number>, x: Tensor, means: Tensor, logScales: Tensor, into?: I,
): Gradients<I, 'dMeans' | 'dLogScales'> {
  return backward3('discretizedGaussianLogLikelihoodBackward', wasm().discretizedGaussianLogLikelihoodBackward, dOut, x, means, logScales, into);
}

// ---------------------------------------------------------------------------------------------------------
// Checks and helpers

function backward3<I extends GradientTargets<'dMeans' | 'dLogScales'>>(
  op: string, kernel: Backward3, dOut: ArrayLike<number>, x: Tensor, means: Tensor, logScales: Tensor, into?: I,
): Gradients<I, 'dMeans' | 'dLogScales'> {
  const { N, M } = threeShapes(op, x, means, logScales);
  checkItemValues(op, dOut, N);
  const { dMeans, dLogScales } = resolveGradients(op, into, { dMeans: x.shape, dLogScales: x.shape }, { distinctFrom: [x, means, logScales] });
  withItemValues(dOut, N, (g) => kernel(gradientPtr(dMeans), gradientPtr(dLogScales), g, x.ptr, means.ptr, logScales.ptr, N, M));
  return { dMeans, dLogScales } as Gradients<I, 'dMeans' | 'dLogScales'>;
}

/** N (the first dimension) and M (the product of the others) of a batch tensor [N, ...]. */
function itemSizes(op: string, name: string, shape: Shape): { N: number; M: number } {
  if (shape.length === 0) throw new Error(`${op}: ${name} must have a batch dimension [N, ...], got a scalar`);
  return { N: shape[0], M: shape.slice(1).reduce((a, b) => a * b, 1) };
}

function fourShapes(op: string, mean1: Tensor, logVar1: Tensor, mean2: Tensor, logVar2: Tensor): { N: number; M: number } {
  const shape = tensorArg(op, 'mean1', mean1);
  sameShape(op, 'mean1', shape, 'logVar1', tensorArg(op, 'logVar1', logVar1));
  sameShape(op, 'mean1', shape, 'mean2', tensorArg(op, 'mean2', mean2));
  sameShape(op, 'mean1', shape, 'logVar2', tensorArg(op, 'logVar2', logVar2));
  return itemSizes(op, 'mean1', shape);
}

function threeShapes(op: string, x: Tensor, means: Tensor, logScales: Tensor): { N: number; M: number } {
  const shape = tensorArg(op, 'x', x);
  sameShape(op, 'x', shape, 'means', tensorArg(op, 'means', means));
  sameShape(op, 'x', shape, 'logScales', tensorArg(op, 'logScales', logScales));
  return itemSizes(op, 'x', shape);
}

/** Runs `kernel` with a scratch of N float64 in WebAssembly memory and returns a copy of it. */
function perItem(N: number, kernel: (out: Ptr) => void): Float64Array {
  const ptr = allocator.alloc(8 * Math.max(1, N));
  try {
    kernel(ptr);
    return new Float64Array(wasm().memory.buffer, ptr, N).slice();
  } finally {
    allocator.release(ptr);
  }
}

/** Checks dOut: one finite number per item (before any gradient is allocated). */
function checkItemValues(op: string, values: ArrayLike<number>, N: number): void {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new Error(`${op}: dOut must be an array of ${N} numbers (one per item), got ${values === null ? 'null' : typeof values}`);
  }
  if (values.length !== N) throw new Error(`${op}: dOut has ${values.length} values, the inputs have ${N} items`);
  for (let n = 0; n < N; n++) {
    if (typeof values[n] !== 'number' || !Number.isFinite(values[n])) {
      throw new Error(`${op}: dOut[${n}] must be a finite number, got ${String(values[n])}`);
    }
  }
}

/** Copies one number per item (checked by checkItemValues) into WebAssembly memory for the duration of `kernel`. */
function withItemValues(values: ArrayLike<number>, N: number, kernel: (ptr: Ptr) => void): void {
  const ptr = allocator.alloc(8 * Math.max(1, N));
  try {
    new Float64Array(wasm().memory.buffer, ptr, N).set(Array.from(values));
    kernel(ptr);
  } finally {
    allocator.release(ptr);
  }
}

