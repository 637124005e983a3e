/**
 * Element-wise ops and small reductions: SiLU, arithmetic, sums and losses (assembly/elementwise.ts), per-sample
 * channel bias, global average pooling, nearest 2x upsampling, channel concatenation, per-sample division
 * (assembly/spatial.ts) and sinusoidal and Fourier timestep embeddings (assembly/embedding.ts). Ops return new
 * tensors unless documented as in place; backward ops take the optional last argument `into` of
 * ops/gradients.ts. All float math runs in WebAssembly, so results are bit-identical in every runtime. Scalars
 * passed to float32 kernels (alpha, value) are rounded to float32.
 */
import { wasm } from '../core/instance.ts';
import { checkShape, Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, numberArg, sameShape, tensorArg } from './check.ts';
import { gradientPtr, resolveGradients, type GradientResult, type GradientTargets, type Gradients } from './gradients.ts';
import { optionsArg } from './options.ts';

// ---------------------------------------------------------------------------------------------------------
// SiLU and arithmetic

/** silu(x) = x * sigmoid(x), element-wise; finite at any finite x (silu(-100) = -0, silu(100) = 100). */
export function silu(x: Tensor): Tensor {
  const y = new Tensor(tensorArg('silu', 'x', x));
  wasm().siluForward(y.ptr, x.ptr, x.size);
  return y;
}

/** dx = dy * silu'(x), into `into.dx` (the backward ops' convention, ops/gradients.ts). dy and x have one shape. */
export function siluBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, x: Tensor, into?: I): GradientResult<I, 'dx'> {
  sameShape('siluBackward', 'x', tensorArg('siluBackward', 'x', x), 'dy', tensorArg('siluBackward', 'dy', dy));
  const { dx } = resolveGradients('siluBackward', into, { dx: x.shape });
  if (dx !== null) wasm().siluBackward(dx.ptr, dy.ptr, x.ptr, x.size);
  return dx as GradientResult<I, 'dx'>;
}

/** a + b, element-wise (same shapes, no broadcasting). */
export const add = (a: Tensor, b: Tensor): Tensor => binary('add', wasm().add, a, b);
/** a - b, element-wise (same shapes, no broadcasting). */
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', wasm().sub, a, b);
/** a * b, element-wise (same shapes, no broadcasting). */
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', wasm().mul, a, b);

/** alpha * a, element-wise (alpha finite, rounded to float32). */
export function scale(a: Tensor, alpha: number): Tensor {
  const out = new Tensor(tensorArg('scale', 'a', a));
  wasm().scale(out.ptr, a.ptr, numberArg('scale', 'alpha', alpha), a.size);
  return out;
}

/** x *= alpha, in place (alpha finite, rounded to float32); returns x. */
export function scaleInPlace(x: Tensor, alpha: number): Tensor {
  tensorArg('scaleInPlace', 'x', x);
  wasm().scale(x.ptr, x.ptr, numberArg('scaleInPlace', 'alpha', alpha), x.size);
  return x;
}

/** y += alpha * x, in place (same shapes; alpha finite, default 1, rounded to float32); returns y. */
export function addInPlace(y: Tensor, x: Tensor, alpha = 1): Tensor {
  sameShape('addInPlace', 'y', tensorArg('addInPlace', 'y', y), 'x', tensorArg('addInPlace', 'x', x));
  wasm().axpy(y.ptr, x.ptr, numberArg('addInPlace', 'alpha', alpha), y.size);
  return y;
}

/** Sets every element of x to `value` (finite, rounded to float32), in place; returns x. */
export function fill(x: Tensor, value: number): Tensor {
  tensorArg('fill', 'x', x);
  wasm().fill(x.ptr, numberArg('fill', 'value', value), x.size);
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// Reductions and losses (summed in float64, in an order fixed by the element count alone)

/** The sum of all elements, accumulated in float64 (0 for an empty tensor). */
export function sum(x: Tensor): number {
  tensorArg('sum', 'x', x);
  return wasm().sum(x.ptr, x.size);
}

/** The sum of squares of all elements, accumulated in float64 (the squared L2 norm, e.g. for clipping). */
export function sumOfSquares(x: Tensor): number {
  tensorArg('sumOfSquares', 'x', x);
  return wasm().sumOfSquares(x.ptr, x.size);
}

/** How many elements are NaN or ±Infinity (read from the bits in WebAssembly: NaN payloads differ by engine). */
export function countNonFinite(x: Tensor): number {
  tensorArg('countNonFinite', 'x', x);
  return wasm().countNonFinite(x.ptr, x.size);
}

/** mean((pred - target)^2) over all elements, in float64. pred and target have one shape, not empty. */
export function mseLoss(pred: Tensor, target: Tensor): number {
  lossShapes('mseLoss', pred, target);
  return wasm().mseLoss(pred.ptr, target.ptr, pred.size);
}

/** dpred = scale * 2 * (pred - target) / n (n = pred.size), into `into.dpred` (ops/gradients.ts). Default scale 1. */
export function mseLossBackward<I extends GradientTargets<'dpred'> = {}>(pred: Tensor, target: Tensor, scale = 1, into?: I): GradientResult<I, 'dpred'> {
  lossShapes('mseLossBackward', pred, target);
  numberArg('mseLossBackward', 'scale', scale);
  const { dpred } = resolveGradients('mseLossBackward', into, { dpred: pred.shape });
  if (dpred !== null) wasm().mseLossBackward(dpred.ptr, pred.ptr, target.ptr, pred.size, scale);
  return dpred as GradientResult<I, 'dpred'>;
}

/**
 * Softmax over the last dimension and the mean cross-entropy against integer labels (stable: each row's max is
 * subtracted before exp). Returns the loss (float64) and the probabilities, which the backward needs.
 * @param logits [N, CLASSES], N >= 1, CLASSES >= 1.
 * @param labels N integers in [0, CLASSES).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): { loss: number; probs: Tensor } {
  const [N, CLASSES] = classShapes('softmaxCrossEntropy', logits, 'logits', labels);
  const probs = new Tensor([N, CLASSES]);
  const loss = withInt32(labels, (ptr) => wasm().softmaxCrossEntropy(probs.ptr, logits.ptr, ptr, N, CLASSES));
  return { loss, probs };
}

/** dlogits = scale * (probs - onehot(labels)) / N, into `into.dlogits` (ops/gradients.ts). Default scale 1. */
export function softmaxCrossEntropyBackward<I extends GradientTargets<'dlogits'> = {}>(
  probs: Tensor, labels: Int32Array, scale = 1, into?: I): GradientResult<I, 'dlogits'> {
  const op = 'softmaxCrossEntropyBackward';
  const [N, CLASSES] = classShapes(op, probs, 'probs', labels);
  numberArg(op, 'scale', scale);
  const { dlogits } = resolveGradients(op, into, { dlogits: probs.shape });
  if (dlogits !== null) withInt32(labels, (ptr) => wasm().softmaxCrossEntropyBackward(dlogits.ptr, probs.ptr, ptr, N, CLASSES, scale));
  return dlogits as GradientResult<I, 'dlogits'>;
}

// ---------------------------------------------------------------------------------------------------------
// Feature maps [N, C, ...spatial]: per-sample channel bias, global average pooling, upsampling, concatenation

/** x[n, c, ...] += bias[n, c], in place (e.g. a projected time embedding). x [N, C, ...], bias [N, C]; returns x. */
export function addChannelBias(x: Tensor, bias: Tensor): Tensor {
  const { N, C, HW } = planes('addChannelBias', x, 'x');
  expectShape('addChannelBias', 'bias', tensorArg('addChannelBias', 'bias', bias), [N, C], `x ${fmt(x.shape)}`);
  wasm().addChannelBias(x.ptr, bias.ptr, N, C, HW);
  return x;
}

/** The gradient of `addChannelBias` for its bias: dbias[n, c] = sum of dy[n, c, ...], [N, C] (ops/gradients.ts). */
export function channelBiasBackward<I extends GradientTargets<'dbias'> = {}>(dy: Tensor, into?: I): GradientResult<I, 'dbias'> {
  const { N, C, HW } = planes('channelBiasBackward', dy, 'dy');
  const { dbias } = resolveGradients('channelBiasBackward', into, { dbias: [N, C] });
  if (dbias !== null) wasm().channelBiasBackward(dbias.ptr, dy.ptr, N, C, HW);
  return dbias as GradientResult<I, 'dbias'>;
}

/** y[n, c] = mean of x[n, c, ...]: x [N, C, ...spatial] (spatial size >= 1) -> [N, C]. */
export function globalAvgPool(x: Tensor): Tensor {
  const { N, C, HW } = planes('globalAvgPool', x, 'x', 1);
  const y = new Tensor([N, C]);
  wasm().globalAvgPoolForward(y.ptr, x.ptr, N, C, HW);
  return y;
}

/** dx[n, c, ...] = dy[n, c] / (spatial size), [N, C, ...] = xShape; into `into.dx` (ops/gradients.ts). */
export function globalAvgPoolBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, xShape: Shape, into?: I): GradientResult<I, 'dx'> {
  const op = 'globalAvgPoolBackward';
  const shape = checkShape(xShape, op);
  if (shape.length < 2) throw new Error(`${op}: xShape must be [N, C, ...spatial], got ${fmt(shape)}`);
  const { N, C, HW } = planeSizes(op, shape, 'xShape', 1);
  expectShape(op, 'dy', tensorArg(op, 'dy', dy), [N, C], `xShape ${fmt(shape)}`);
  const { dx } = resolveGradients(op, into, { dx: shape });
  if (dx !== null) wasm().globalAvgPoolBackward(dx.ptr, dy.ptr, N, C, HW);
  return dx as GradientResult<I, 'dx'>;
}

/** Nearest-neighbour 2x upsampling: x [N, C, H, W] -> [N, C, 2H, 2W]. */
export function upsampleNearest2x(x: Tensor): Tensor {
  const [N, C, H, W] = tensorArg('upsampleNearest2x', 'x', x, 4, '[N, C, H, W]');
  const y = new Tensor([N, C, 2 * H, 2 * W]);
  wasm().upsampleNearest2xForward(y.ptr, x.ptr, N, C, H, W);
  return y;
}

/**
 * The gradient of `upsampleNearest2x`: dy [N, C, 2H, 2W] -> dx [N, C, H, W] (each the sum of its 4 children), into
 * `into.dx` (ops/gradients.ts).
 */
export function upsampleNearest2xBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, into?: I): GradientResult<I, 'dx'> {
  const op = 'upsampleNearest2xBackward';
  const [N, C, H2, W2] = tensorArg(op, 'dy', dy, 4, '[N, C, 2H, 2W]');
  if (H2 % 2 !== 0 || W2 % 2 !== 0) throw new Error(`${op}: dy must have an even height and width [N, C, 2H, 2W], got ${fmt(dy.shape)}`);
  const { dx } = resolveGradients(op, into, { dx: [N, C, H2 / 2, W2 / 2] });
  if (dx !== null) wasm().upsampleNearest2xBackward(dx.ptr, dy.ptr, N, C, H2 / 2, W2 / 2);
  return dx as GradientResult<I, 'dx'>;
}

/** Concatenates along channels (U-Net skip connections): a [N, CA, ...S], b [N, CB, ...S] -> [N, CA + CB, ...S]. */
export function concatChannels(a: Tensor, b: Tensor): Tensor {
  const A = planes('concatChannels', a, 'a'), B = planes('concatChannels', b, 'b');
  if (a.shape.length !== b.shape.length || A.N !== B.N || a.shape.slice(2).some((d, i) => d !== b.shape[i + 2])) {
    throw new Error(`concatChannels: a and b must differ only in channels (dimension 1): a ${fmt(a.shape)}, b ${fmt(b.shape)}`);
  }
  const out = new Tensor([A.N, A.C + B.C, ...a.shape.slice(2)]);
  wasm().concatChannels(out.ptr, a.ptr, b.ptr, A.N, A.C, B.C, A.HW);
  return out;
}

/**
 * Splits the gradient of `concatChannels`: dout [N, CA + CB, ...S] -> da [N, CA, ...S], db [N, CB, ...S], into
 * `into.da` / `into.db` (the backward ops' convention, ops/gradients.ts).
 */
export function concatChannelsBackward<I extends GradientTargets<'da' | 'db'> = {}>(
  dout: Tensor, channelsA: number, into?: I): Gradients<I, 'da' | 'db'> {
  const op = 'concatChannelsBackward';
  const { N, C, HW } = planes(op, dout, 'dout');
  if (!Number.isInteger(channelsA) || channelsA < 0 || channelsA > C) {
    throw new Error(`${op}: channelsA must be an integer in [0, ${C}] (the channels of dout ${fmt(dout.shape)}), got ${channelsA}`);
  }
  const rest = dout.shape.slice(2);
  const { da, db } = resolveGradients(op, into, { da: [N, channelsA, ...rest], db: [N, C - channelsA, ...rest] });
  wasm().concatChannelsBackward(gradientPtr(da), gradientPtr(db), dout.ptr, N, channelsA, C - channelsA, HW);
  return { da, db } as Gradients<I, 'da' | 'db'>;
}

// ---------------------------------------------------------------------------------------------------------
// Timestep embeddings

/** Options of `timestepEmbedding`, named and defaulted as diffusers' UNet2DModel uses them. */
export interface TimestepEmbeddingOptions {
  /** Put the cosines first ([cos, sin]). Default true (diffusers' get_timestep_embedding defaults to false). */
  flipSinToCos?: boolean;
  /** s in exponent_i = -ln(maxPeriod) * i / (half - s). Default 0; must differ from half = floor(dim / 2). */
  downscaleFreqShift?: number;
  /** The longest period. Default 10000; positive. */
  maxPeriod?: number;
}

/**
 * Sinusoidal embeddings of (possibly fractional) timesteps, as diffusers' get_timestep_embedding, computed in
 * float64 in WebAssembly and stored as float32: half = floor(dim / 2), e_ni = t_n * exp(-ln(maxPeriod) * i /
 * (half - downscaleFreqShift)), row n = [sin e_n, cos e_n] (or [cos, sin] when flipSinToCos), plus a zero column
 * when dim is odd.
 * @param timesteps N timesteps (a Float32Array or a rank-1 Tensor).
 * @param dim the embedding width, >= 1.
 * @returns [N, dim].
 */
export function timestepEmbedding(timesteps: Float32Array | Tensor, dim: number, options: TimestepEmbeddingOptions = {}): Tensor {
  const op = 'timestepEmbedding';
  const { flipSinToCos = true, downscaleFreqShift = 0, maxPeriod = 10000 } = optionsArg(op, options, ['flipSinToCos', 'downscaleFreqShift', 'maxPeriod']);
  if (!(timesteps instanceof Float32Array)) tensorArg(op, 'timesteps', timesteps, 1, '[N]');
  intArg(op, 'dim', dim, 1);
  if (typeof flipSinToCos !== 'boolean') throw new Error(`${op}: flipSinToCos must be a boolean, got ${String(flipSinToCos)}`);
  const shift = Math.fround(numberArg(op, 'downscaleFreqShift', downscaleFreqShift));
  const period = Math.fround(numberArg(op, 'maxPeriod', maxPeriod, true));
  if (period === 0 || period === Infinity) throw new Error(`${op}: maxPeriod must fit a float32 and be positive, got ${maxPeriod}`);
  if (dim >= 2 && shift === Math.floor(dim / 2)) {
    throw new Error(`${op}: downscaleFreqShift (${downscaleFreqShift}) must differ from floor(dim / 2) = ${Math.floor(dim / 2)}: ` +
      'the exponent divides by their difference');
  }
  const t = timesteps instanceof Tensor ? timesteps : Tensor.from(timesteps, [timesteps.length]);
  const out = new Tensor([t.size, dim]);
  wasm().timestepEmbedding(out.ptr, t.ptr, t.size, dim, flipSinToCos ? 1 : 0, shift, period);
  if (t !== timesteps) t.dispose();
  return out;
}

/**
 * Gaussian Fourier features of positive timesteps (score-SDE's NCSN++, diffusers' GaussianFourierProjection as
 * UNet2DModel's time_embedding_type 'fourier' builds it: log = true, [sin, cos]): p_ni = log(t_n) · w_i · 2π in
 * float32 (PyTorch's order of operations), row n = [sin p_n, cos p_n].
 * @param timesteps N positive, finite timesteps (a Float32Array or a rank-1 Tensor); noise levels sigma in score
 *   models, so fractional values are normal.
 * @param weight the C frequencies [C] (diffusers' `time_proj.weight`).
 * @returns [N, 2C].
 */
export function fourierEmbedding(timesteps: Float32Array | Tensor, weight: Tensor): Tensor {
  const op = 'fourierEmbedding';
  if (!(timesteps instanceof Float32Array)) tensorArg(op, 'timesteps', timesteps, 1, '[N]');
  const [C] = tensorArg(op, 'weight', weight, 1, '[C]');
  const values = timesteps instanceof Float32Array ? timesteps : timesteps.toFloat32Array();
  const bad = values.findIndex((t) => !(t > 0 && t < Infinity));
  if (bad >= 0) throw new Error(`${op}: timesteps must be positive and finite (the embedding takes their log), got ${values[bad]} at index ${bad}`);
  const t = timesteps instanceof Tensor ? timesteps : Tensor.from(timesteps, [timesteps.length]);
  const out = new Tensor([t.size, 2 * C]);
  wasm().fourierEmbedding(out.ptr, t.ptr, weight.ptr, t.size, C);
  if (t !== timesteps) t.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Per-sample division

/**
 * y[n, ...] = x[n, ...] / divisors[n], a float32 division per element (diffusers divides a 'fourier' U-Net's output
 * by its timesteps, and a block's output by its output_scale_factor). x [N, ...], N finite non-zero divisors.
 */
export function divideRows(x: Tensor, divisors: Float32Array): Tensor {
  const { N, M } = rows('divideRows', x, 'x', divisors);
  const y = new Tensor(x.shape);
  withFloat32(divisors, (d) => wasm().divideRows(y.ptr, x.ptr, d, N, M));
  return y;
}

/** The gradient of `divideRows`: dx[n, ...] = dy[n, ...] / divisors[n], into `into.dx` (ops/gradients.ts). */
export function divideRowsBackward<I extends GradientTargets<'dx'> = {}>(dy: Tensor, divisors: Float32Array, into?: I): GradientResult<I, 'dx'> {
  const { N, M } = rows('divideRowsBackward', dy, 'dy', divisors);
  const { dx } = resolveGradients('divideRowsBackward', into, { dx: dy.shape });
  if (dx !== null) withFloat32(divisors, (d) => wasm().divideRowsBackward(dx.ptr, dy.ptr, d, N, M));
  return dx as GradientResult<I, 'dx'>;
}

// ---------------------------------------------------------------------------------------------------------
// Checks and helpers

function binary(op: string, kernel: (out: number, a: number, b: number, n: number) => void, a: Tensor, b: Tensor): Tensor {
  sameShape(op, 'a', tensorArg(op, 'a', a), 'b', tensorArg(op, 'b', b));
  const out = new Tensor(a.shape);
  kernel(out.ptr, a.ptr, b.ptr, a.size);
  return out;
}

/** Checks that `name` has the shape [N, C] that `context` implies. */
function expectShape(op: string, name: string, actual: Shape, expected: Shape, context: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: ${name} must be [N, C] = ${fmt(expected)} for ${context}, got ${fmt(actual)}`);
  }
}

function lossShapes(op: string, pred: Tensor, target: Tensor): void {
  sameShape(op, 'pred', tensorArg(op, 'pred', pred), 'target', tensorArg(op, 'target', target));
  if (pred.size === 0) throw new Error(`${op}: pred is empty (shape ${fmt(pred.shape)}): the mean is undefined`);
}

/** Checks a [N, CLASSES] tensor and N labels in [0, CLASSES); returns [N, CLASSES]. */
function classShapes(op: string, x: Tensor, name: string, labels: Int32Array): [number, number] {
  const [N, CLASSES] = tensorArg(op, name, x, 2, '[N, CLASSES]');
  if (N < 1 || CLASSES < 1) throw new Error(`${op}: ${name} must have at least one row and one class, got ${fmt(x.shape)}`);
  if (!(labels instanceof Int32Array)) throw new Error(`${op}: labels must be an Int32Array, got ${typeof labels}`);
  if (labels.length !== N) throw new Error(`${op}: labels has ${labels.length} entries, ${name} ${fmt(x.shape)} has ${N} rows`);
  const bad = labels.findIndex((label) => label < 0 || label >= CLASSES);
  if (bad >= 0) throw new Error(`${op}: labels[${bad}] = ${labels[bad]} is outside [0, ${CLASSES}) (${name} ${fmt(x.shape)})`);
  return [N, CLASSES];
}

/** Checks x [N, ...] against one finite, non-zero divisor per row; M is the size of a row. */
function rows(op: string, x: Tensor, name: string, divisors: Float32Array): { N: number; M: number } {
  const shape = tensorArg(op, name, x);
  if (shape.length < 1) throw new Error(`${op}: ${name} must have rank >= 1 [N, ...], got ${fmt(shape)}`);
  if (!(divisors instanceof Float32Array)) throw new Error(`${op}: divisors must be a Float32Array, got ${typeof divisors}`);
  if (divisors.length !== shape[0]) throw new Error(`${op}: divisors has ${divisors.length} entries, ${name} ${fmt(shape)} has ${shape[0]} rows`);
  const bad = divisors.findIndex((d) => d === 0 || !Number.isFinite(d));
  if (bad >= 0) throw new Error(`${op}: divisors[${bad}] = ${divisors[bad]}: divisors must be finite and non-zero`);
  return { N: shape[0], M: x.size / Math.max(1, shape[0]) };
}

/** Copies float32 values into WebAssembly memory for the duration of `fn`. */
function withFloat32<T>(values: Float32Array, fn: (ptr: number) => T): T {
  const buffer = Tensor.from(values, [values.length]);
  try {
    return fn(buffer.ptr);
  } finally {
    buffer.dispose();
  }
}

/** Copies int32 values into WebAssembly memory for the duration of `fn`. */
function withInt32<T>(values: Int32Array, fn: (ptr: number) => T): T {
  const buffer = new Tensor([values.length]);
  try {
    new Int32Array(wasm().memory.buffer, buffer.ptr, values.length).set(values);
    return fn(buffer.ptr);
  } finally {
    buffer.dispose();
  }
}

/** Checks x [N, C, ...spatial] (rank >= 2); HW is the product of the spatial sizes (1 when there are none). */
function planes(op: string, x: Tensor, name: string, minHW = 0): { N: number; C: number; HW: number } {
  return planeSizes(op, tensorArg(op, name, x), name, minHW);
}

function planeSizes(op: string, shape: Shape, name: string, minHW: number): { N: number; C: number; HW: number } {
  if (shape.length < 2) throw new Error(`${op}: ${name} must be [N, C, ...spatial] (rank >= 2), got ${fmt(shape)}`);
  const HW = shape.slice(2).reduce((a, b) => a * b, 1);
  if (HW < minHW) throw new Error(`${op}: ${name} ${fmt(shape)} has an empty spatial size`);
  return { N: shape[0], C: shape[1], HW };
}
