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

/** assembly/groupnorm.ts. Pointers may be 0 where the kernels say so (absent input, skipped output). */
export interface GroupNormKernels {
  groupNormForward(y: number, mean: number, rstd: number, x: number, gamma: number, beta: number, scale: number,
    shift: number, N: number, C: number, HW: number, G: number, eps: number): void;
  groupNormForwardScalar(y: number, mean: number, rstd: number, x: number, gamma: number, beta: number, scale: number,
    shift: number, N: number, C: number, HW: number, G: number, eps: number): void;
  groupNormBackward(dx: number, dgamma: number, dbeta: number, dscale: number, dshift: number, dy: number, x: number,
    mean: number, rstd: number, gamma: number, beta: number, scale: number, N: number, C: number, HW: number, G: number): void;
  groupNormBackwardScalar(dx: number, dgamma: number, dbeta: number, dscale: number, dshift: number, dy: number,
    x: number, mean: number, rstd: number, gamma: number, beta: number, scale: number, N: number, C: number,
    HW: number, G: number): void;
}

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

/** Where each gradient goes: a Tensor to ADD into, `null` to skip it, absent to allocate a zeroed one. */
export interface GroupNormGradientTargets {
  dx?: Tensor | null;
  dgamma?: Tensor | null;
  dbeta?: Tensor | null;
  /** Only with `scale`. */
  dscale?: Tensor | null;
  /** Only with `scale`. */
  dshift?: Tensor | null;
}

/**
 * The gradients: dx like x, dgamma and dbeta [C], dscale and dshift [N, C] (only when `scale` was given).
 * A gradient skipped with `null` is absent.
 */
export interface GroupNormGradients {
  dx?: Tensor;
  dgamma?: Tensor;
  dbeta?: Tensor;
  dscale?: Tensor;
  dshift?: Tensor;
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
 * Recomputes the statistics from x. Parameter gradients follow the `into` convention (see ops/index.ts).
 * @param dy shaped like x.
 * @param options the forward's `{ scale, shift }`, plus `beta` when scale is given and dscale is wanted.
 * @param into per gradient: a Tensor to add into, `null` to skip, absent to allocate.
 */
export function groupNormBackward(
  dy: Tensor, x: Tensor, groups: number, gamma: Tensor, eps = 1e-5, options: GroupNormBackwardOptions = {},
  into: GroupNormGradientTargets = {},
): GroupNormGradients {
  const op = 'groupNormBackward';
  const d = checkInput(op, x, groups);
  checkBackward(op, d, dy, gamma, options, into);
  numberArg(op, 'eps', eps, true);
  const mean = new Tensor([d.N, d.G]), rstd = new Tensor([d.N, d.G]);
  try {
    wasm().groupNormForward(0, mean.ptr, rstd.ptr, x.ptr, 0, 0, 0, 0, d.N, d.C, d.HW, d.G, eps);
    return runBackward(d, dy, x, mean, rstd, gamma, options, into);
  } finally {
    mean.dispose();
    rstd.dispose();
  }
}

/**
 * `groupNormBackward` with the statistics saved by `groupNormForward` (mean and rstd [N, groups]; the number of
 * groups is read from their shape), so x is not re-read for them.
 */
export function groupNormBackwardWithStatistics(
  dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, gamma: Tensor, options: GroupNormBackwardOptions = {},
  into: GroupNormGradientTargets = {},
): GroupNormGradients {
  const op = 'groupNormBackwardWithStatistics';
  const meanShape = tensorArg(op, 'mean', mean, 2, '[N, groups]');
  const d = checkInput(op, x, meanShape[1]);
  if (meanShape[0] !== d.N) {
    throw new Error(`${op}: mean must be [${d.N}, groups] for x ${fmt(x.shape)}, got ${fmt(meanShape)}`);
  }
  sameShape(op, 'mean', meanShape, 'rstd', tensorArg(op, 'rstd', rstd));
  checkBackward(op, d, dy, gamma, options, into);
  return runBackward(d, dy, x, mean, rstd, gamma, options, into);
}

// ---------------------------------------------------------------------------------------------------------

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
  into: GroupNormGradientTargets): void {
  sameShape(op, 'x', d.shape, 'dy', tensorArg(op, 'dy', dy));
  checkChannelVector(op, 'gamma', gamma, d);
  checkModulation(op, options, d);
  if (options.beta !== undefined) checkChannelVector(op, 'beta', options.beta, d);
  if (typeof into !== 'object' || into === null) {
    throw new Error(`${op}: into must be an object of gradient targets, got ${into}`);
  }
  checkTarget(op, 'dx', into.dx, d.shape);
  checkTarget(op, 'dgamma', into.dgamma, [d.C]);
  checkTarget(op, 'dbeta', into.dbeta, [d.C]);
  const modulated = options.scale !== undefined;
  for (const name of ['dscale', 'dshift'] as const) {
    if (!modulated && into[name]) throw new Error(`${op}: into.${name} was given but the forward had no scale and shift`);
    checkTarget(op, name, into[name], [d.N, d.C]);
  }
  if (modulated && into.dscale !== null && options.beta === undefined) {
    throw new Error(`${op}: the gradient of scale needs beta: pass { scale, shift, beta }, or skip it with into.dscale = null`);
  }
}

function checkChannelVector(op: string, name: string, value: Tensor, d: Dims): void {
  const shape = tensorArg(op, name, value);
  if (shape.length !== 1 || shape[0] !== d.C) {
    throw new Error(`${op}: ${name} must have shape [${d.C}] (the channels of x ${fmt(d.shape)}), got ${fmt(shape)}`);
  }
}

function checkModulation(op: string, modulation: GroupNormModulation, d: Dims): void {
  if (typeof modulation !== 'object' || modulation === null) {
    throw new Error(`${op}: the modulation must be an object { scale, shift } (or {}), got ${modulation}`);
  }
  const { scale, shift } = modulation;
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

function checkTarget(op: string, name: string, target: Tensor | null | undefined, shape: Shape): void {
  if (target === null || target === undefined) return;
  const actual = tensorArg(op, `into.${name}`, target);
  if (actual.length !== shape.length || actual.some((v, i) => v !== shape[i])) {
    throw new Error(`${op}: into.${name} must have shape ${fmt(shape)}, got ${fmt(actual)}`);
  }
}

/** Allocates the wanted gradients (the `into` convention) and runs the backward kernel. */
function runBackward(d: Dims, dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, gamma: Tensor,
  options: GroupNormBackwardOptions, into: GroupNormGradientTargets): GroupNormGradients {
  const shapes: Record<keyof GroupNormGradients, Shape> = {
    dx: d.shape, dgamma: [d.C], dbeta: [d.C], dscale: [d.N, d.C], dshift: [d.N, d.C],
  };
  const wanted = Object.keys(shapes) as (keyof GroupNormGradients)[];
  const grads: GroupNormGradients = {};
  for (const key of options.scale !== undefined ? wanted : wanted.slice(0, 3)) {
    if (into[key] !== null) grads[key] = into[key] ?? Tensor.zeros(shapes[key]);
  }
  wasm().groupNormBackward(ptr(grads.dx), ptr(grads.dgamma), ptr(grads.dbeta), ptr(grads.dscale), ptr(grads.dshift),
    dy.ptr, x.ptr, mean.ptr, rstd.ptr, gamma.ptr, ptr(options.beta), ptr(options.scale), d.N, d.C, d.HW, d.G);
  return grads;
}
