/** A 2-D convolution layer with PyTorch's nn.Conv2d layout: weight [out, in, k, k], bias [out]; x is NCHW. */
import { conv2d, conv2dBackward, type Conv2dOptions } from '../ops/conv2d.ts';
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
    ctx.save(this, x);
    return conv2d(x, this.weight.value, this.bias.value, this.geometry);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return conv2dBackward(dy, ctx.restore<Tensor>(this), this.weight.value, this.geometry,
      { dx, dw: this.weight.grad, db: this.bias.grad }).dx;
  }
}
