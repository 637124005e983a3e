/** A fully connected layer, y = x·Wᵀ + b, with W [out, in] as in PyTorch's nn.Linear. x is [..., in]. */
import { linear, linearBackward } from '../ops/linear.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export class Linear implements Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(params: ParameterSet, readonly name: string, readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    const init = { uniform: defaultBound(inFeatures) };
    this.weight = params.add(`${name}.weight`, [outFeatures, inFeatures], init);
    this.bias = bias ? params.add(`${name}.bias`, [outFeatures], init) : null;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    ctx.save(this, x);
    return linear(x, this.weight.value, this.bias?.value ?? null);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return linearBackward(dy, ctx.restore<Tensor>(this), this.weight.value,
      { dx, dw: this.weight.grad, db: this.bias ? this.bias.grad : null }).dx;
  }
}
