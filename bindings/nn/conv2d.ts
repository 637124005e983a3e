/**
 * A 2-D convolution layer with PyTorch's nn.Conv2d layout: weight [out, in, k, k], bias [out]; x is NCHW. In an
 * inference pass it runs the packed inference kernel (ops/conv2d-packed.ts: the same bits), or with
 * `convolutions: 'winograd'` Winograd's F(2x2, 3x3) where that is faster (ops/conv2d-winograd.ts: other
 * rounding); both epilogues can also add a per-sample channel bias and a residual (`infer`), for the blocks that
 * fuse them.
 */
import { conv2d, conv2dBackward, type Conv2dOptions } from '../ops/conv2d.ts';
import { conv2dPacked, packConv2dWeights, type Conv2dPackedOptions, type PackedConv2dWeights } from '../ops/conv2d-packed.ts';
import { conv2dWinograd, packConv2dWinogradWeights, type WinogradConv2dWeights } from '../ops/conv2d-winograd.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

// Winograd's transforms cost per tile, not per multiply: with one input or output channel (conv_in, conv_out)
// they outweigh the multiplies saved, and the kernel came out slower; from 16 channels in and out it was 1.7-2.4x
// faster at the digit U-Nets' shapes (npm run bench, the inference kernels' table).
const WINOGRAD_MIN_CHANNELS = 16;

/** Whether `convolutions: 'winograd'` runs a convolution of this geometry by Winograd's F(2x2, 3x3). */
export function runsByWinograd(kernelSize: number, stride: number, inChannels: number, outChannels: number): boolean {
  return kernelSize === 3 && stride === 1 && inChannels >= WINOGRAD_MIN_CHANNELS && outChannels >= WINOGRAD_MIN_CHANNELS;
}

export class Conv2d implements Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly geometry: Conv2dOptions;
  /** The key of the Winograd weights in an inference cache (the layer itself keys the packed ones). */
  private readonly winogradOwner: { name: string };

  constructor(
    params: ParameterSet, readonly name: string, readonly inChannels: number, readonly outChannels: number,
    readonly kernelSize: number, readonly stride = 1, readonly padding = 0,
  ) {
    const init = { uniform: defaultBound(inChannels * kernelSize * kernelSize) };
    this.weight = params.add(`${name}.weight`, [outChannels, inChannels, kernelSize, kernelSize], init);
    this.bias = params.add(`${name}.bias`, [outChannels], init);
    this.geometry = { stride, padding };
    this.winogradOwner = { name: `${name} (Winograd)` };
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (ctx.inference && this.packable) return this.infer(x, ctx, this.geometry);
    ctx.save(this, x);
    return conv2d(x, this.weight.value, this.bias.value, this.geometry);
  }

  /** Whether the packed kernel takes this shape (at most 256 taps per channel, 65,536 in all). */
  get packable(): boolean {
    const taps = this.kernelSize * this.kernelSize;
    return taps <= 256 && this.inChannels * taps <= 65536;
  }

  /** Whether `convolutions: 'winograd'` runs this layer by Winograd's F(2x2, 3x3): 3x3, stride 1, wide enough. */
  get winogradFits(): boolean {
    return runsByWinograd(this.kernelSize, this.stride, this.inChannels, this.outChannels);
  }

  /**
   * The convolution by an inference kernel, with its options (an input already padded: padding 0): the packed
   * kernel, or Winograd's when the pass asks for it and the layer fits.
   */
  infer(x: Tensor, ctx: Context, options: Conv2dPackedOptions): Tensor {
    if (ctx.convolutions === 'winograd' && this.winogradFits) {
      const { weights } = ctx.prepared(this.winogradOwner, () => {
        const transformed: WinogradConv2dWeights = packConv2dWinogradWeights(this.weight.value);
        return { weights: transformed, tensors: [transformed.packed] };
      });
      return conv2dWinograd(x, weights, this.bias.value, options);  // stride 1: winogradFits
    }
    const { weights } = ctx.prepared(this, () => {
      const packed: PackedConv2dWeights = packConv2dWeights(this.weight.value);
      return { weights: packed, tensors: [packed.packed] };
    });
    return conv2dPacked(x, weights, this.bias.value, options);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return conv2dBackward(dy, ctx.restore<Tensor>(this), this.weight.value, this.geometry,
      { dx, dw: this.weight.grad, db: this.bias.grad }).dx;
  }
}
