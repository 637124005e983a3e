/**
 * Convolution for inference (assembly/conv2d-packed.ts): the weights packed once (`packConv2dWeights`), the
 * input padded once (or handed over already padded, as `groupNormSilu` writes it), and the bias, a per-sample
 * channel bias and a residual added as the output is stored. Forward only. The output has exactly the bits of
 * `conv2d` followed by `addChannelBias` and `addInPlace`, so an inference path built on it samples the same
 * images as the training layers.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels, R, S kernel size,
 * OH = floor((H' + 2·padding - R) / stride) + 1 with H' = H (2H with `upsample`), OW likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, tensorArg } from './check.ts';

/** The kernel's tables (assembly/conv2d-packed.ts): taps per input channel (16x16), and in all (256 blocks of 256). */
const MAX_KERNEL_TAPS = 256;
const MAX_TAPS = 65536;

/** A convolution's weights [K, C, R, S] rearranged for `conv2dPacked`; `dispose()` frees them. */
export class PackedConv2dWeights {
  private constructor(readonly packed: Tensor, readonly shape: Shape) {}

  /** Packs w [K, C, R, S] (PyTorch's layout). Pack again after the weights change. */
  static pack(w: Tensor): PackedConv2dWeights {
    const [K, C, R, S] = tensorArg('packConv2dWeights', 'weight', w, 4, '[K, C, R, S]');
    if (K < 1 || C < 1 || R < 1 || S < 1) throw new Error(`packConv2dWeights: weight must have no empty dimension, got ${fmt(w.shape)}`);
    if (R * S > MAX_KERNEL_TAPS || C * R * S > MAX_TAPS) {
      throw new Error(`packConv2dWeights: weight ${fmt(w.shape)} is too large for the kernel: at most ${MAX_KERNEL_TAPS} taps ` +
        `per channel (R·S = ${R * S}) and ${MAX_TAPS} in all (C·R·S = ${C * R * S})`);
    }
    const packed = new Tensor([wasm().conv2dPackedSize(K, C, R, S)]);
    wasm().conv2dPackWeights(packed.ptr, w.ptr, K, C, R, S);
    return new PackedConv2dWeights(packed, [K, C, R, S]);
  }

  get isDisposed(): boolean { return this.packed.isDisposed; }
  dispose(): void { this.packed.dispose(); }
}

/** Packs a convolution's weights w [K, C, R, S] for `conv2dPacked`. */
export function packConv2dWeights(w: Tensor): PackedConv2dWeights {
  return PackedConv2dWeights.pack(w);
}

export interface Conv2dPackedOptions {
  /** Step between output positions, both axes: an integer >= 1. Default 1. */
  stride?: number;
  /** Zeros around the input, both axes: an integer >= 0. Default 0 (also for an input that comes padded). */
  padding?: number;
  /** Nearest-neighbour 2x upsampling of x first (diffusers' Upsample2D): no upsampled copy is kept. Default false. */
  upsample?: boolean;
  /** A per-sample channel bias [N, K] added after the bias (the 'default' time conditioning). Default none. */
  channelBias?: Tensor;
  /** [N, K, OH, OW] added last (a residual connection). Default none. */
  residual?: Tensor;
}

/**
 * y [N, K, OH, OW] = conv(x, w) + b, then + channelBias[n, k], then + residual: the bits of `conv2d`, then
 * `addChannelBias`, then `addInPlace`.
 * @param x [N, C, H, W]; an input already padded (by `groupNormSilu` with `padding`) is given with padding 0.
 * @param w the packed weights of a [K, C, R, S] convolution.
 * @param b [K], or null for no bias.
 */
export function conv2dPacked(x: Tensor, w: PackedConv2dWeights, b: Tensor | null, options: Conv2dPackedOptions = {}): Tensor {
  const op = 'conv2dPacked';
  const [N, C, H, W] = tensorArg(op, 'x', x, 4, '[N, C, H, W]');
  if (!(w instanceof PackedConv2dWeights)) throw new Error(`${op}: w must be PackedConv2dWeights (from packConv2dWeights), got ${typeof w}`);
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
  const y = new Tensor([N, K, OH, OW]);
  const padded = padding > 0 || upsample ? new Tensor([N, C, HP, WP]) : x;
  try {
    if (padded !== x) wasm().conv2dPadInput(padded.ptr, x.ptr, N, C, H, W, padding, upsample ? 1 : 0);
    wasm().conv2dPackedForward(y.ptr, padded.ptr, w.packed.ptr, b?.ptr ?? 0, channelBias?.ptr ?? 0, residual?.ptr ?? 0,
      N, C, HP, WP, K, R, S, stride);
  } finally {
    if (padded !== x) padded.dispose();
  }
  return y;
}

function expectShape(op: string, name: string, t: Tensor, shape: Shape, context: string): void {
  const actual = tensorArg(op, name, t);
  if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
    throw new Error(`${op}: ${name} must be ${fmt(shape)} for ${context}, got ${fmt(actual)}`);
  }
}
