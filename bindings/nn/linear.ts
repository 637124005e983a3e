/** A fully connected layer, y = x·Wᵀ + b, with W [out, in] as in PyTorch's nn.Linear. x is [N, in]. */
import { linear, linearBackward } from '../ops/linear.ts';
import type { Tensor } from '../tensor.ts';
import { saved, type InputGrad, type Layer } from './layer.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export class Linear implements Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;

  constructor(params: ParameterSet, readonly name: string, readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    const init = { uniform: defaultBound(inFeatures) };
    this.weight = params.add(`${name}.weight`, [outFeatures, inFeatures], init);
    this.bias = bias ? params.add(`${name}.bias`, [outFeatures], init) : null;
  }

  forward(x: Tensor): Tensor {
    this.x = x;
    return linear(x, this.weight.value, this.bias?.value ?? null);
  }

  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    const x = saved(this.x, this.name);
    const grads = linearBackward(dy, x, this.weight.value, { dx, dw: this.weight.grad, db: this.bias ? this.bias.grad : null });
    return grads.dx ?? null;
  }
}
