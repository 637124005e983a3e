/**
 * Group normalisation (assembly/groupnorm.ts) over x [N, C, ...spatial]: per sample and group of C / groups
 * channels, subtract the mean, divide by sqrt(var + eps) (biased variance, as PyTorch), then apply the
 * per-channel affine gamma, beta [C]. Optionally AdaGN (the U-Net's 'scale_shift' time conditioning, as in
 * diffusers' ResnetBlock2D): y = (xhat·gamma + beta)·(1 + scale) + shift with scale, shift [N, C].
 *
 * `groupNorm` / `groupNormBackward` are the plain pair (the backward recomputes the statistics);
 * `groupNormForward` / `groupNormBackwardWithStatistics` keep the statistics between the two.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, numberArg, sameShape, tensorArg } from './check.ts';
import { optionsArg } from './options.ts';
import { gradientPtr, resolveGradients, type GradientTargets, type Gradients } from './gradients.ts';

/** AdaGN modulation: per-sample scale and shift, both [N, C], given together or not at all. */
export interface GroupNormModulation {
  scale?: Tensor;
  shift?: Tensor;
}

/**
 * The backward's options: the forward's modulation, plus `beta`, which only the gradient of `scale` needs
 * (dscale = Σ dy·(xhat·gamma + beta)). Required when `scale` is given and dscale is not skipped.
 */
export interface GroupNormBackwardOptions extends GroupNormModulation {
  beta?: Tensor;
}

/** The forward's output and the statistics the backward reuses: mean and rstd = 1 / sqrt(var + eps), [N, groups]. */
export interface GroupNormForwardResult {
  y: Tensor;
  mean: Tensor;
  rstd: Tensor;
}

/**
 * y = GroupNorm(x), with AdaGN when `scale` and `shift` are given.
 * @param x [N, C, ...spatial] (rank >= 2).
 * @param groups number of groups; must divide C (32 in the U-Net).
 * @param gamma the per-channel scale of the affine, [C] (PyTorch's `weight`).
 * @param beta the per-channel offset of the affine, [C] (PyTorch's `bias`).
 * @param eps added to the variance; > 0, default 1e-5 (PyTorch's).
 * @param modulation `{ scale, shift }`, both [N, C], or `{}` (default).
 * @returns y, shaped like x.
 */
export function groupNorm(
  x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5, modulation: GroupNormModulation = {},
): Tensor {
  const d = checkForward('groupNorm', x, groups, gamma, beta, eps, modulation);
  const y = new Tensor(x.shape);
  wasm().groupNormForward(y.ptr, 0, 0, x.ptr, gamma.ptr, beta.ptr, ptr(modulation.scale), ptr(modulation.shift),
    d.N, d.C, d.HW, d.G, eps);
  return y;
}

/**
 * `groupNorm` that also returns its statistics, for a layer that keeps them for
 * `groupNormBackwardWithStatistics` (saves re-reading x for the statistics in the backward).
 * Arguments as for `groupNorm`; mean and rstd are [N, groups].
 */
export function groupNormForward(
  x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5, modulation: GroupNormModulation = {},
): GroupNormForwardResult {
  const d = checkForward('groupNormForward', x, groups, gamma, beta, eps, modulation);
  const y = new Tensor(x.shape), mean = new Tensor([d.N, d.G]), rstd = new Tensor([d.N, d.G]);
  wasm().groupNormForward(y.ptr, mean.ptr, rstd.ptr, x.ptr, gamma.ptr, beta.ptr, ptr(modulation.scale),
    ptr(modulation.shift), d.N, d.C, d.HW, d.G, eps);
  return { y, mean, rstd };
}

/**
 * Gradients of L through y = groupNorm(x, groups, gamma, beta, eps, { scale, shift }), given dy = dL/dy.
 * Recomputes the statistics from x. `into` follows the backward ops' convention (ops/gradients.ts).
 * @param dy shaped like x.
 * @param options the forward's `{ scale, shift }`, plus `beta` when scale is given and dscale is wanted.
 */
export function groupNormBackward<I extends GradientTargets<Names> = {}>(
  dy: Tensor, x: Tensor, groups: number, gamma: Tensor, eps = 1e-5, options: GroupNormBackwardOptions = {}, into?: I,
): Gradients<I, Names> {
  const op = 'groupNormBackward';
  const d = checkInput(op, x, groups);
  checkBackward(op, d, dy, gamma, options, into);
  numberArg(op, 'eps', eps, true);
  const grads = resolve(op, d, options, into);
  const mean = new Tensor([d.N, d.G]), rstd = new Tensor([d.N, d.G]);
  try {
    wasm().groupNormForward(0, mean.ptr, rstd.ptr, x.ptr, 0, 0, 0, 0, d.N, d.C, d.HW, d.G, eps);
    runBackward(d, grads, dy, x, mean, rstd, gamma, options);
    return grads as Gradients<I, Names>;
  } finally {
    mean.dispose();
    rstd.dispose();
  }
}

/**
 * `groupNormBackward` with the statistics saved by `groupNormForward` (mean and rstd [N, groups]; the number of
 * groups is read from their shape), so x is not re-read for them.
 */
export function groupNormBackwardWithStatistics<I extends GradientTargets<Names> = {}>(
  dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, gamma: Tensor, options: GroupNormBackwardOptions = {}, into?: I,
): Gradients<I, Names> {
  const op = 'groupNormBackwardWithStatistics';
  const meanShape = tensorArg(op, 'mean', mean, 2, '[N, groups]');
  const d = checkInput(op, x, meanShape[1]);
  if (meanShape[0] !== d.N) {
    throw new Error(`${op}: mean must be [${d.N}, groups] for x ${fmt(x.shape)}, got ${fmt(meanShape)}`);
  }
  sameShape(op, 'mean', meanShape, 'rstd', tensorArg(op, 'rstd', rstd));
  checkBackward(op, d, dy, gamma, options, into);
  const grads = resolve(op, d, options, into);
  runBackward(d, grads, dy, x, mean, rstd, gamma, options);
  return grads as Gradients<I, Names>;
}

// ---------------------------------------------------------------------------------------------------------

/** The gradients of group normalisation: dx like x, dgamma and dbeta [C], dscale and dshift [N, C] (with AdaGN only). */
type Names = 'dx' | 'dgamma' | 'dbeta' | 'dscale' | 'dshift';

/** Sizes of the kernels: batch, channels, spatial product, groups. */
interface Dims { N: number; C: number; HW: number; G: number; shape: Shape }

const ptr = (t: Tensor | null | undefined): number => (t ? t.ptr : 0);

function checkInput(op: string, x: Tensor, groups: number): Dims {
  const shape = tensorArg(op, 'x', x);
  if (shape.length < 2) throw new Error(`${op}: x must have rank >= 2 [N, C, ...spatial], got shape ${fmt(shape)}`);
  const G = intArg(op, 'groups', groups, 1);
  const [N, C] = shape;
  if (C % G !== 0) throw new Error(`${op}: groups (${G}) must divide the channels (${C}) of x ${fmt(shape)}`);
  return { N, C, HW: shape.slice(2).reduce((a, b) => a * b, 1), G, shape };
}

/** The forward's checks (shared with groupNormSilu): x, groups, gamma, beta, eps and the modulation. */
export function checkForward(op: string, x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps: number,
  modulation: GroupNormModulation): { N: number; C: number; HW: number; G: number } {
  const d = checkInput(op, x, groups);
  checkChannelVector(op, 'gamma', gamma, d);
  checkChannelVector(op, 'beta', beta, d);
  numberArg(op, 'eps', eps, true);
  checkModulation(op, modulation, d);
  return d;
}

function checkBackward(op: string, d: Dims, dy: Tensor, gamma: Tensor, options: GroupNormBackwardOptions,
  into: GradientTargets<Names> | undefined): void {
  sameShape(op, 'x', d.shape, 'dy', tensorArg(op, 'dy', dy));
  checkChannelVector(op, 'gamma', gamma, d);
  checkModulation(op, options, d, ['scale', 'shift', 'beta']);
  if (options.beta !== undefined) checkChannelVector(op, 'beta', options.beta, d);
  if (options.scale !== undefined && into?.dscale !== null && options.beta === undefined) {
    throw new Error(`${op}: the gradient of scale needs beta: pass { scale, shift, beta }, or skip it with into.dscale = null`);
  }
}

/** The gradient targets (ops/gradients.ts); dscale and dshift exist only when the forward was modulated. */
function resolve(op: string, d: Dims, options: GroupNormBackwardOptions, into: GradientTargets<Names> | undefined) {
  const modulation = options.scale !== undefined ? [d.N, d.C] : null;
  return resolveGradients(op, into, { dx: d.shape, dgamma: [d.C], dbeta: [d.C], dscale: modulation, dshift: modulation });
}

function checkChannelVector(op: string, name: string, value: Tensor, d: Dims): void {
  const shape = tensorArg(op, name, value);
  if (shape.length !== 1 || shape[0] !== d.C) {
    throw new Error(`${op}: ${name} must have shape [${d.C}] (the channels of x ${fmt(d.shape)}), got ${fmt(shape)}`);
  }
}

function checkModulation(op: string, modulation: GroupNormModulation, d: Dims, known = ['scale', 'shift']): void {
  if (typeof modulation !== 'object' || modulation === null) {
    throw new Error(`${op}: the modulation must be an object { scale, shift } (or {}), got ${modulation}`);
  }
  const { scale, shift } = optionsArg(op, modulation, known);
  if ((scale === undefined) !== (shift === undefined)) {
    throw new Error(`${op}: scale and shift must be given together (got only ${scale === undefined ? 'shift' : 'scale'})`);
  }
  for (const [name, value] of [['scale', scale], ['shift', shift]] as const) {
    if (value === undefined) continue;
    const shape = tensorArg(op, name, value);
    if (shape.length !== 2 || shape[0] !== d.N || shape[1] !== d.C) {
      throw new Error(`${op}: ${name} must have shape [${d.N}, ${d.C}] ([N, C] of x ${fmt(d.shape)}), got ${fmt(shape)}`);
    }
  }
}

/** Runs the backward kernel into the resolved gradients (a null one is skipped). */
function runBackward(d: Dims, grads: Record<Names, Tensor | null>, dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor,
  gamma: Tensor, options: GroupNormBackwardOptions): void {
  const g = gradientPtr;
  wasm().groupNormBackward(g(grads.dx), g(grads.dgamma), g(grads.dbeta), g(grads.dscale), g(grads.dshift),
    dy.ptr, x.ptr, mean.ptr, rstd.ptr, gamma.ptr, ptr(options.beta), ptr(options.scale), d.N, d.C, d.HW, d.G);
}
