/** A 2-D convolution layer with PyTorch's nn.Conv2d layout: weight [out, in, k, k], bias [out]; x is NCHW. */
import { conv2d, conv2dBackward } from '../ops/conv2d.ts';
import type { Tensor } from '../tensor.ts';
import { saved, type InputGrad, type Layer } from './layer.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export class Conv2d implements Layer {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private x: Tensor | null = null;

  constructor(
    params: ParameterSet, readonly name: string, readonly inChannels: number, readonly outChannels: number,
    readonly kernelSize: number, readonly stride = 1, readonly padding = 0,
  ) {
    const init = { uniform: defaultBound(inChannels * kernelSize * kernelSize) };
    this.weight = params.add(`${name}.weight`, [outChannels, inChannels, kernelSize, kernelSize], init);
    this.bias = params.add(`${name}.bias`, [outChannels], init);
  }

  forward(x: Tensor): Tensor {
    this.x = x;
    return conv2d(x, this.weight.value, this.bias.value, { stride: this.stride, padding: this.padding });
  }

  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    const x = saved(this.x, this.name);
    const grads = conv2dBackward(dy, x, this.weight.value, { stride: this.stride, padding: this.padding },
      { dx, dw: this.weight.grad, db: this.bias.grad });
    return grads.dx ?? null;
  }
}
