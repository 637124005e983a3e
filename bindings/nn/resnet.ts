/**
 * The residual block of the DDPM U-Net (diffusers' ResnetBlock2D), conditioned on the time embedding:
 *
 *   h = conv1(silu(norm1(x)))
 *   'default':      h = norm2(h + time_emb_proj(silu(temb)))                  (a per-channel bias)
 *   'scale_shift':  h = norm2(h) * (1 + scale) + shift, [scale, shift] = time_emb_proj(silu(temb))   (AdaGN)
 *   y = shortcut(x) + conv2(dropout(silu(h)))       shortcut = 1x1 conv_shortcut when channels change
 */
import { addChannelBias, channelBiasBackward, linear, linearBackward, silu, siluBackward } from '../ops/index.ts';
import { groupNormBackwardWithStatistics, groupNormForward } from '../ops/groupnorm.ts';
import type { Tensor } from '../tensor.ts';
import { SiLU } from './activation.ts';
import { Residual, Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { Conv2d } from './conv2d.ts';
import { Dropout } from './dropout.ts';
import { GroupNorm, type NormStatistics } from './groupnorm.ts';
import type { InputGrad, Module } from './module.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export type TimeScaleShift = 'default' | 'scale_shift';

export interface ResnetOptions {
  normGroups: number;
  tembChannels: number;
  timeScaleShift: TimeScaleShift;
  dropout: number;
}

export class ResnetBlock2D extends Residual {
  constructor(params: ParameterSet, name: string, readonly inChannels: number, readonly outChannels: number, options: ResnetOptions) {
    const { normGroups, dropout } = options;
    const branch = new Sequential(name, [
      new GroupNorm(params, `${name}.norm1`, normGroups, inChannels),
      new SiLU(`${name}.act1`),
      new Conv2d(params, `${name}.conv1`, inChannels, outChannels, 3, 1, 1),
      new TimeConditionedNorm(params, name, outChannels, options),
      new SiLU(`${name}.act2`),
      new Dropout(`${name}.dropout`, dropout),
      new Conv2d(params, `${name}.conv2`, outChannels, outChannels, 3, 1, 1),
    ]);
    const shortcut = inChannels !== outChannels ? new Conv2d(params, `${name}.conv_shortcut`, inChannels, outChannels, 1) : null;
    super(name, branch, shortcut);
  }
}

/**
 * The middle of a resnet, where the time embedding enters: time_emb_proj(silu(temb)) as a per-channel bias
 * before norm2 ('default'), or as AdaGN's scale and shift of norm2 ('scale_shift'). Adds the embedding's
 * gradient into ctx.dTemb in backward.
 */
export class TimeConditionedNorm implements Module {
  readonly name: string;
  readonly projWeight: Parameter;
  readonly projBias: Parameter;
  readonly norm: GroupNorm;
  private readonly timeScaleShift: TimeScaleShift;

  constructor(params: ParameterSet, block: string, readonly channels: number, options: ResnetOptions) {
    this.name = `${block}.time_emb_proj`;
    this.timeScaleShift = options.timeScaleShift;
    const projected = options.timeScaleShift === 'scale_shift' ? 2 * channels : channels;
    const init = { uniform: defaultBound(options.tembChannels) };
    this.projWeight = params.add(`${block}.time_emb_proj.weight`, [projected, options.tembChannels], init);
    this.projBias = params.add(`${block}.time_emb_proj.bias`, [projected], init);
    this.norm = new GroupNorm(params, `${block}.norm2`, options.normGroups, channels);
  }

  forward(h: Tensor, ctx: Context): Tensor {
    const t = silu(ctx.timeEmbedding(this));
    if (this.timeScaleShift === 'default') {
      const biased = addChannelBias(h.clone(), linear(t, this.projWeight.value, this.projBias.value));
      ctx.save(this, { t });
      return this.norm.forward(biased, ctx);
    }
    const scale = linear(t, this.part(this.projWeight, 0), this.part(this.projBias, 0));
    const shift = linear(t, this.part(this.projWeight, 1), this.part(this.projBias, 1));
    const { y, mean, rstd } = groupNormForward(h, this.norm.groups, this.norm.weight.value, this.norm.bias.value, this.norm.eps, { scale, shift });
    ctx.save(this, { t, scale, shift, statistics: { x: h, mean, rstd } });
    return y;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const saved = ctx.restore<{ t: Tensor; scale?: Tensor; shift?: Tensor; statistics?: NormStatistics }>(this);
    let dh: Tensor | null;
    let dt: Tensor;
    if (this.timeScaleShift === 'default') {
      dh = this.norm.backward(dy, ctx, dx) as Tensor;
      dt = this.projectionBackward(channelBiasBackward(dh), saved.t, 0);
    } else {
      const { x, mean, rstd } = saved.statistics!;
      const grads = groupNormBackwardWithStatistics(dy, x, mean, rstd, this.norm.weight.value,
        { scale: saved.scale, shift: saved.shift, beta: this.norm.bias.value },
        { dx, dgamma: this.norm.weight.grad, dbeta: this.norm.bias.grad });
      dh = grads.dx;
      dt = this.projectionBackward(grads.dscale!, saved.t, 0);
      this.projectionBackward(grads.dshift!, saved.t, 1, dt);
    }
    siluBackward(dt, ctx.timeEmbedding(this), { dx: ctx.dTemb! });
    return dh;
  }

  /** Rows [part·C, (part + 1)·C) of the projection: the bias or scale (part 0), the shift (part 1). */
  private part(p: Parameter, part: number, of: 'value' | 'grad' = 'value'): Tensor {
    const C = this.channels, E = p.shape.length === 2 ? p.shape[1] : 1;
    return p.shape.length === 2 ? p[of].subview(part * C * E, [C, E]) : p[of].subview(part * C, [C]);
  }

  /** Backward of one part of time_emb_proj, adding into `dt` when given; returns the gradient of silu(temb). */
  private projectionBackward(dProj: Tensor, t: Tensor, part: number, dt?: Tensor): Tensor {
    return linearBackward(dProj, t, this.part(this.projWeight, part), {
      dx: dt, dw: this.part(this.projWeight, part, 'grad'), db: this.part(this.projBias, part, 'grad'),
    }).dx;
  }
}
