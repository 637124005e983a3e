/**
 * Group normalisation with a per-channel affine (PyTorch's nn.GroupNorm: weight = gamma, bias = beta). Its
 * adaptive form AdaGN, modulated by the time embedding, is the resnets' norm2 (nn/resnet.ts).
 */
import { groupNormBackwardWithStatistics, groupNormForward } from '../ops/groupnorm.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

/** What the forward keeps for the backward: the input and its statistics [N, groups]. */
export interface NormStatistics { x: Tensor; mean: Tensor; rstd: Tensor }

export class GroupNorm implements Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(params: ParameterSet, readonly name: string, readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    if (channels % groups !== 0) throw new Error(`${name}: normNumGroups (${groups}) must divide the channels (${channels})`);
    this.weight = params.add(`${name}.weight`, [channels], { constant: 1 });
    this.bias = params.add(`${name}.bias`, [channels], { constant: 0 });
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const { y, mean, rstd } = groupNormForward(x, this.groups, this.weight.value, this.bias.value, this.eps);
    ctx.save<NormStatistics>(this, { x, mean, rstd });
    return y;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const { x, mean, rstd } = ctx.restore<NormStatistics>(this);
    return groupNormBackwardWithStatistics(dy, x, mean, rstd, this.weight.value, {},
      { dx, dgamma: this.weight.grad, dbeta: this.bias.grad }).dx;
  }
}
