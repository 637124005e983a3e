/**
 * What the inference convolutions (`conv2dPacked`, `conv2dWinograd`) share: the check of a call's arguments
 * (input, prepared weights, bias, geometry, channel bias, residual) before any wasm call, and the padded (and
 * upsampled) copy of the input that their kernels read.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels, R, S kernel size, HP, WP the padded
 * input's size (f·H + 2·padding, f = 2 with `upsample`), OH = floor((HP - R) / stride) + 1, OW likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, tensorArg } from './check.ts';

/** Weights prepared once for an inference kernel: their buffer and the [K, C, R, S] they came from. */
export interface PreparedWeights {
  readonly packed: Tensor;
  readonly shape: Shape;
  readonly isDisposed: boolean;
}

/** A call's options (conv2dWinograd takes all but the stride, always 1). */
export interface InferenceConvOptions {
  /** Step between output positions, both axes: an integer >= 1. Default 1. */
  stride?: number;
  /** Zeros around the input, both axes: an integer >= 0. Default 0 (also for an input that comes padded). */
  padding?: number;
  /** Nearest-neighbour 2x upsampling of x first (diffusers' Upsample2D), inside the padding copy. Default false. */
  upsample?: boolean;
  /** A per-sample channel bias [N, K] added after the bias (the 'default' time conditioning). Default none. */
  channelBias?: Tensor;
  /** [N, K, OH, OW] added last (a residual connection). Default none. */
  residual?: Tensor;
}

/** A checked call: its sizes and geometry. */
export interface InferenceConvCall {
  N: number; C: number; H: number; W: number; K: number; R: number; S: number;
  stride: number; padding: number; upsample: boolean; HP: number; WP: number; OH: number; OW: number;
}

/**
 * Checks a call of `op` and returns its sizes, or throws a one-line error naming the argument. `weights` is the
 * class `w` must be an instance of, `preparedBy` the function that makes one.
 */
export function checkInferenceConv(
  op: string, x: Tensor, w: PreparedWeights, weights: { readonly name: string; [Symbol.hasInstance](value: unknown): boolean }, preparedBy: string,
  b: Tensor | null, options: InferenceConvOptions,
): InferenceConvCall {
  const [N, C, H, W] = tensorArg(op, 'x', x, 4, '[N, C, H, W]');
  if (!(w instanceof weights)) throw new Error(`${op}: w must be ${weights.name} (from ${preparedBy}), got ${typeof w}`);
  if (w.isDisposed) throw new Error(`${op}: w was disposed`);
  const [K, Cw, R, S] = w.shape;
  if (Cw !== C) throw new Error(`${op}: weight has ${Cw} input channels, x has ${C} (x ${fmt(x.shape)}, weight ${fmt(w.shape)})`);
  const { stride = 1, padding = 0, upsample = false, channelBias, residual } = options;
  intArg(op, 'stride', stride, 1);
  intArg(op, 'padding', padding, 0);
  if (typeof upsample !== 'boolean') throw new Error(`${op}: upsample must be a boolean, got ${String(upsample)}`);
  const f = upsample ? 2 : 1, HP = f * H + 2 * padding, WP = f * W + 2 * padding;
  const OH = Math.floor((HP - R) / stride) + 1, OW = Math.floor((WP - S) / stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new Error(`${op}: the output would be empty (${OH} x ${OW}): kernel ${R} x ${S} does not fit the padded ` +
      `input ${HP} x ${WP} (x ${fmt(x.shape)}, weight ${fmt(w.shape)}, padding ${padding})`);
  }
  if (b !== null) expectShape(op, 'bias', b, [K], `weight ${fmt(w.shape)}`);
  if (channelBias !== undefined) expectShape(op, 'channelBias', channelBias, [N, K], `x ${fmt(x.shape)} and weight ${fmt(w.shape)}`);
  if (residual !== undefined) expectShape(op, 'residual', residual, [N, K, OH, OW], 'the output');
  return { N, C, H, W, K, R, S, stride, padding, upsample, HP, WP, OH, OW };
}

/** Runs `convolve` on x padded (and upsampled) as `call` says, or on x itself when it needs neither. */
export function withPaddedInput(x: Tensor, call: InferenceConvCall, convolve: (padded: Tensor) => void): void {
  const { N, C, H, W, HP, WP, padding, upsample } = call;
  const padded = padding > 0 || upsample ? new Tensor([N, C, HP, WP]) : x;
  try {
    if (padded !== x) wasm().conv2dPadInput(padded.ptr, x.ptr, N, C, H, W, padding, upsample ? 1 : 0);
    convolve(padded);
  } finally {
    if (padded !== x) padded.dispose();
  }
}

function expectShape(op: string, name: string, t: Tensor, shape: Shape, context: string): void {
  const actual = tensorArg(op, name, t);
  if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
    throw new Error(`${op}: ${name} must be ${fmt(shape)} for ${context}, got ${fmt(actual)}`);
  }
}
