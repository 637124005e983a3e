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
import { fmt, tensorArg } from './check.ts';
import { checkInferenceConv, withPaddedInput, type InferenceConvOptions } from './inference-conv-call.ts';

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

/** The options of `conv2dPacked` (ops/inference-conv-call.ts). */
export type Conv2dPackedOptions = InferenceConvOptions;

/**
 * y [N, K, OH, OW] = conv(x, w) + b, then + channelBias[n, k], then + residual: the bits of `conv2d`, then
 * `addChannelBias`, then `addInPlace`.
 * @param x [N, C, H, W]; an input already padded (by `groupNormSilu` with `padding`) is given with padding 0.
 * @param w the packed weights of a [K, C, R, S] convolution.
 * @param b [K], or null for no bias.
 */
export function conv2dPacked(x: Tensor, w: PackedConv2dWeights, b: Tensor | null, options: Conv2dPackedOptions = {}): Tensor {
  const call = checkInferenceConv('conv2dPacked', x, w, PackedConv2dWeights, 'packConv2dWeights', b, options);
  const { N, C, K, R, S, stride, HP, WP, OH, OW } = call, { channelBias, residual } = options;
  const y = new Tensor([N, K, OH, OW]);
  withPaddedInput(x, call, (padded) => wasm().conv2dPackedForward(y.ptr, padded.ptr, w.packed.ptr, b?.ptr ?? 0,
    channelBias?.ptr ?? 0, residual?.ptr ?? 0, N, C, HP, WP, K, R, S, stride));
  return y;
}
