/**
 * A 3x3 stride-1 convolution for inference by Winograd's F(2x2, 3x3) (Lavin & Gray 2015;
 * assembly/conv2d-winograd.ts): 2.25x fewer multiplies than direct convolution, the weights transformed once
 * (`packConv2dWinogradWeights`), the input padded (and upsampled) once or handed over already padded, and the
 * bias, a per-sample channel bias and a residual added as the output is stored. Forward only. It does NOT have
 * the bits of `conv2d` / `conv2dPacked` (the transforms round differently: errors of a few 1e-7 of the output's
 * scale, like direct convolution's), so only an inference pass with `convolutions: 'winograd'` uses it
 * (nn/conv2d.ts; the sampling pipelines' default); every engine still computes the same bits.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels; the output is [N, K, H', W'] with
 * H' = f·H + 2·padding - 2, f = 2 with `upsample` (else 1), W' likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, tensorArg } from './check.ts';
import { checkInferenceConv, withPaddedInput, type InferenceConvOptions } from './inference-conv-call.ts';

/** A 3x3 convolution's weights [K, C, 3, 3] transformed for `conv2dWinograd`; `dispose()` frees them. */
export class WinogradConv2dWeights {
  private constructor(readonly packed: Tensor, readonly shape: Shape) {}

  /** Transforms w [K, C, 3, 3] (PyTorch's layout). Transform again after the weights change. */
  static pack(w: Tensor): WinogradConv2dWeights {
    const [K, C, R, S] = tensorArg('packConv2dWinogradWeights', 'weight', w, 4, '[K, C, 3, 3]');
    if (R !== 3 || S !== 3 || K < 1 || C < 1) {
      throw new Error(`packConv2dWinogradWeights: weight must be [K, C, 3, 3] with K, C >= 1, got ${fmt(w.shape)}`);
    }
    const packed = new Tensor([wasm().conv2dWinogradWeightsSize(K, C)]);
    wasm().conv2dWinogradPackWeights(packed.ptr, w.ptr, K, C);
    return new WinogradConv2dWeights(packed, [K, C, 3, 3]);
  }

  get isDisposed(): boolean { return this.packed.isDisposed; }
  dispose(): void { this.packed.dispose(); }
}

/** Transforms a 3x3 convolution's weights w [K, C, 3, 3] for `conv2dWinograd`. */
export function packConv2dWinogradWeights(w: Tensor): WinogradConv2dWeights {
  return WinogradConv2dWeights.pack(w);
}

/** The options of `conv2dWinograd` (ops/inference-conv-call.ts): those of `conv2dPacked` but the stride, always 1. */
export type Conv2dWinogradOptions = Omit<InferenceConvOptions, 'stride'>;

/**
 * y [N, K, OH, OW] = conv(x, w) + b, then + channelBias[n, k], then + residual, stride 1, by Winograd F(2x2, 3x3).
 * @param x [N, C, H, W]; an input already padded (by `groupNormSilu` with `padding`) is given with padding 0.
 * @param w the transformed weights of a [K, C, 3, 3] convolution.
 * @param b [K], or null for no bias.
 */
export function conv2dWinograd(x: Tensor, w: WinogradConv2dWeights, b: Tensor | null, options: Conv2dWinogradOptions = {}): Tensor {
  const { padding, upsample, channelBias, residual } = options;
  const call = checkInferenceConv('conv2dWinograd', x, w, WinogradConv2dWeights, 'packConv2dWinogradWeights', b,
    { padding, upsample, channelBias, residual });
  const { N, C, K, HP, WP, OH, OW } = call;
  const y = new Tensor([N, K, OH, OW]);
  const work = new Tensor([wasm().conv2dWinogradWorkspaceSize(C, K)]);
  try {
    withPaddedInput(x, call, (padded) => wasm().conv2dWinogradForward(y.ptr, padded.ptr, w.packed.ptr, b?.ptr ?? 0,
      channelBias?.ptr ?? 0, residual?.ptr ?? 0, work.ptr, N, C, HP, WP, K));
  } finally {
    work.dispose();
  }
  return y;
}
