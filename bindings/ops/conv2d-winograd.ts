/**
 * A 3x3 stride-1 convolution for inference by Winograd's F(2x2, 3x3) (Lavin & Gray 2015;
 * assembly/conv2d-winograd.ts): 2.25x fewer multiplies than direct convolution, the weights transformed once
 * (`packConv2dWinogradWeights`), the input padded (and upsampled) once or handed over already padded, and the
 * bias, a per-sample channel bias and a residual added as the output is stored. Forward only. It does NOT have
 * the bits of `conv2d` / `conv2dPacked` (the transforms round differently: errors of a few 1e-7 of the output's
 * scale, like direct convolution's), so only the opt-in inference pass `convolutions: 'winograd'` uses it
 * (nn/conv2d.ts); every engine still computes the same bits.
 *
 * Legend: N batch, C input channels, H, W input size, K output channels; the output is [N, K, H', W'] with
 * H' = f·H + 2·padding - 2, f = 2 with `upsample` (else 1), W' likewise.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, type Shape } from '../tensor.ts';
import { fmt, intArg, tensorArg } from './check.ts';

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

export interface Conv2dWinogradOptions {
  /** Zeros around the input, both axes: an integer >= 0. Default 0 (also for an input that comes padded). */
  padding?: number;
  /** Nearest-neighbour 2x upsampling of x first (diffusers' Upsample2D), inside the padding copy. Default false. */
  upsample?: boolean;
  /** A per-sample channel bias [N, K] added after the bias. Default none. */
  channelBias?: Tensor;
  /** [N, K, OH, OW] added last (a residual connection). Default none. */
  residual?: Tensor;
}

/**
 * y [N, K, OH, OW] = conv(x, w) + b, then + channelBias[n, k], then + residual, stride 1, by Winograd F(2x2, 3x3).
 * @param x [N, C, H, W]; an input already padded (by `groupNormSilu` with `padding`) is given with padding 0.
 * @param w the transformed weights of a [K, C, 3, 3] convolution.
 * @param b [K], or null for no bias.
 */
export function conv2dWinograd(x: Tensor, w: WinogradConv2dWeights, b: Tensor | null, options: Conv2dWinogradOptions = {}): Tensor {
  const op = 'conv2dWinograd';
  const [N, C, H, W] = tensorArg(op, 'x', x, 4, '[N, C, H, W]');
  if (!(w instanceof WinogradConv2dWeights)) throw new Error(`${op}: w must be WinogradConv2dWeights (from packConv2dWinogradWeights), got ${typeof w}`);
  if (w.isDisposed) throw new Error(`${op}: w was disposed`);
  const [K, Cw] = w.shape;
  if (Cw !== C) throw new Error(`${op}: weight has ${Cw} input channels, x has ${C} (x ${fmt(x.shape)}, weight ${fmt(w.shape)})`);
  const { padding = 0, upsample = false, channelBias, residual } = options;
  intArg(op, 'padding', padding, 0);
  if (typeof upsample !== 'boolean') throw new Error(`${op}: upsample must be a boolean, got ${String(upsample)}`);
  const f = upsample ? 2 : 1, HP = f * H + 2 * padding, WP = f * W + 2 * padding, OH = HP - 2, OW = WP - 2;
  if (OH < 1 || OW < 1) {
    throw new Error(`${op}: the output would be empty (${OH} x ${OW}): the 3 x 3 kernel does not fit the padded input ` +
      `${HP} x ${WP} (x ${fmt(x.shape)}, padding ${padding})`);
  }
  if (b !== null) expectShape(op, 'bias', b, [K], `weight ${fmt(w.shape)}`);
  if (channelBias !== undefined) expectShape(op, 'channelBias', channelBias, [N, K], `x ${fmt(x.shape)} and weight ${fmt(w.shape)}`);
  if (residual !== undefined) expectShape(op, 'residual', residual, [N, K, OH, OW], 'the output');
  const y = new Tensor([N, K, OH, OW]);
  const padded = padding > 0 || upsample ? new Tensor([N, C, HP, WP]) : x;
  const work = new Tensor([wasm().conv2dWinogradWorkspaceSize(C, K)]);
  try {
    if (padded !== x) wasm().conv2dPadInput(padded.ptr, x.ptr, N, C, H, W, padding, upsample ? 1 : 0);
    wasm().conv2dWinogradForward(y.ptr, padded.ptr, w.packed.ptr, b?.ptr ?? 0, channelBias?.ptr ?? 0, residual?.ptr ?? 0,
      work.ptr, N, C, HP, WP, K);
  } finally {
    if (padded !== x) padded.dispose();
    work.dispose();
  }
  return y;
}

function expectShape(op: string, name: string, t: Tensor, shape: Shape, context: string): void {
  const actual = tensorArg(op, name, t);
  if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
    throw new Error(`${op}: ${name} must be ${fmt(shape)} for ${context}, got ${fmt(actual)}`);
  }
}
