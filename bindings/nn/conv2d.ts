/**
 * A 2-D convolution layer with PyTorch's nn.Conv2d layout: weight [out, in, k, k], bias [out]; x is NCHW. In an
 * inference pass it runs the packed inference kernel (ops/conv2d-packed.ts: the same bits), whose epilogue can
 * also add a per-sample channel bias and a residual (`infer`), for the blocks that fuse them.
 */
import { conv2d, conv2dBackward, type Conv2dOptions } from '../ops/conv2d.ts';
import { conv2dPacked, packConv2dWeights, type Conv2dPackedOptions, type PackedConv2dWeights } from '../ops/conv2d-packed.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export class Conv2d implements Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly geometry: Conv2dOptions;

  constructor(
    params: ParameterSet, readonly name: string, readonly inChannels: number, readonly outChannels: number,
    readonly kernelSize: number, readonly stride = 1, readonly padding = 0,
  ) {
    const init = { uniform: defaultBound(inChannels * kernelSize * kernelSize) };
    this.weight = params.add(`${name}.weight`, [outChannels, inChannels, kernelSize, kernelSize], init);
    this.bias = params.add(`${name}.bias`, [outChannels], init);
    this.geometry = { stride, padding };
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

  /** The convolution by the packed inference kernel, with its options (an input already padded: padding 0). */
  infer(x: Tensor, ctx: Context, options: Conv2dPackedOptions): Tensor {
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
