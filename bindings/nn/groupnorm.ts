/**
 * Group normalisation with a per-channel affine (PyTorch's nn.GroupNorm: weight = gamma, bias = beta), and its
 * adaptive form AdaGN (Dhariwal & Nichol 2021): y = GroupNorm(x) * (1 + scale) + shift, where scale and shift
 * [N, C] come from the time embedding. Both run in one fused kernel.
 */
import { groupNormBackwardWithStatistics, groupNormForward } from '../ops/groupnorm.ts';
import type { Tensor } from '../tensor.ts';
import { saved, type InputGrad } from './layer.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

export interface ScaleShift { scale: Tensor; shift: Tensor }

export class GroupNorm {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private saved: { x: Tensor; mean: Tensor; rstd: Tensor; modulation?: ScaleShift } | null = null;

  constructor(params: ParameterSet, readonly name: string, readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    if (channels % groups !== 0) throw new Error(`${name}: normNumGroups (${groups}) must divide the channels (${channels})`);
    this.weight = params.add(`${name}.weight`, [channels], { constant: 1 });
    this.bias = params.add(`${name}.bias`, [channels], { constant: 0 });
  }

  forward(x: Tensor, modulation?: ScaleShift): Tensor {
    const { y, mean, rstd } = groupNormForward(x, this.groups, this.weight.value, this.bias.value, this.eps, modulation ?? {});
    this.saved = { x, mean, rstd, modulation };
    return y;
  }

  /** Returns dx, and d(scale) and d(shift) [N, C] when the forward was modulated. */
  backward(dy: Tensor, dx?: InputGrad): { dx: Tensor | null; dscale?: Tensor; dshift?: Tensor } {
    const { x, mean, rstd, modulation } = saved(this.saved, this.name);
    const options = modulation ? { ...modulation, beta: this.bias.value } : {};
    const grads = groupNormBackwardWithStatistics(dy, x, mean, rstd, this.weight.value, options,
      { dx, dgamma: this.weight.grad, dbeta: this.bias.grad });
    return { dx: grads.dx ?? null, dscale: grads.dscale, dshift: grads.dshift };
  }
}
