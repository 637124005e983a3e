/**
 * The residual block of the DDPM U-Net (diffusers' ResnetBlock2D), conditioned on the time embedding:
 *
 *   h = conv1(resample(act(norm1(x))))
 *   'default':      h = norm2(h + time_emb_proj(act(temb)))                  (a per-channel bias)
 *   'scale_shift':  h = norm2(h) * (1 + scale) + shift, [scale, shift] = time_emb_proj(act(temb))   (AdaGN)
 *   y = (shortcut(resample(x)) + conv2(dropout(act(h)))) / outputScaleFactor
 *
 * shortcut = a 1x1 conv_shortcut when the channels change (or when asked, as the NCSN++ resnets do), else the
 * identity; `resample` is nothing, or the same parameter-free 2x resampler on both paths (BigGAN's up- and
 * downsampling residual blocks: nearest up, 2x2 average pooling down, or FIR (1, 3, 3, 1) for kernel="fir").
 * `act` is SiLU unless `actFn` says otherwise (diffusers' act_fn), in all three places.
 *
 * An inference pass of the usual block (SiLU, no resampling, no output scaling) runs the fused inference kernels,
 * with the same bits: groupNormSilu (padded for conv1), conv1 with the time bias in its epilogue ('default'), or
 * groupNormSilu with AdaGN's scale and shift ('scale_shift'), and conv2 with the shortcut added in its epilogue.
 */
import { addChannelBias, channelBiasBackward, silu } from '../ops/elementwise.ts';
import { linear, linearBackward } from '../ops/linear.ts';
import { groupNormSilu } from '../ops/groupnorm-silu.ts';
import { groupNormBackwardWithStatistics, groupNormForward } from '../ops/groupnorm.ts';
import type { Tensor } from '../tensor.ts';
import { Activation, activationOps, type ActFn, type ActivationOps } from './activation.ts';
import { Residual, Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { Conv2d } from './conv2d.ts';
import { Dropout } from './dropout.ts';
import { GroupNorm, type NormStatistics } from './groupnorm.ts';
import type { InputGrad, Module } from './module.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';
import { resnetResampler, type ResnetResample } from './resample.ts';
import { Rescale } from './scaling.ts';

export type TimeScaleShift = 'default' | 'scale_shift';

export interface ResnetOptions {
  /** Groups of norm1 (and of norm2 unless groupsOut is given). */
  normGroups: number;
  tembChannels: number;
  timeScaleShift: TimeScaleShift;
  dropout: number;
  /** Groups of norm2. Default: normGroups. */
  groupsOut?: number;
  /** Epsilon of both GroupNorms. Default 1e-5. */
  eps?: number;
  /** The activation after norm1, on the time embedding and after norm2. Default 'silu'. */
  actFn?: ActFn;
  /** The output is divided by it. Default 1. */
  outputScaleFactor?: number;
  /** Resample both paths by 2 (after act(norm1(x)) and before the shortcut). Default: none. */
  resample?: ResnetResample | null;
  /** A 1x1 conv_shortcut even when the channels do not change. Default: only when they change. */
  convShortcut?: boolean;
}

/** The block as Residual(branch, shortcut), followed by a Rescale when outputScaleFactor is not 1. */
export class ResnetBlock2D extends Sequential {
  private readonly parts: { norm1: GroupNorm; conv1: Conv2d; time: TimeConditionedNorm; conv2: Conv2d; shortcut: Conv2d | null };
  /** Whether an inference pass may take the fused path (see the top of the file). */
  private readonly fusable: boolean;

  constructor(params: ParameterSet, name: string, readonly inChannels: number, readonly outChannels: number, options: ResnetOptions) {
    const { normGroups, dropout, eps = 1e-5, actFn = 'silu', outputScaleFactor = 1, resample = null } = options;
    const norm1 = new GroupNorm(params, `${name}.norm1`, normGroups, inChannels, eps);
    const conv1 = new Conv2d(params, `${name}.conv1`, inChannels, outChannels, 3, 1, 1);
    const time = new TimeConditionedNorm(params, name, outChannels, options);
    const conv2 = new Conv2d(params, `${name}.conv2`, outChannels, outChannels, 3, 1, 1);
    const branch = new Sequential(name, [
      norm1, new Activation(`${name}.act1`, actFn), ...(resample ? [resnetResampler(`${name}.resample`, resample)] : []), conv1,
      time, new Activation(`${name}.act2`, actFn), new Dropout(`${name}.dropout`, dropout), conv2,
    ]);
    const useConv = options.convShortcut ?? inChannels !== outChannels;
    const shortcutConv = useConv ? new Conv2d(params, `${name}.conv_shortcut`, inChannels, outChannels, 1) : null;
    const shortcutParts: Module[] = [...(resample ? [resnetResampler(`${name}.resample_shortcut`, resample)] : []), ...(shortcutConv ? [shortcutConv] : [])];
    const shortcut = shortcutParts.length === 0 ? null : shortcutParts.length === 1 ? shortcutParts[0] : new Sequential(`${name}.shortcut`, shortcutParts);
    const residual = new Residual(name, branch, shortcut);
    super(name, outputScaleFactor === 1 ? [residual] : [residual, new Rescale(`${name}.rescale`, outputScaleFactor)]);
    this.parts = { norm1, conv1, time, conv2, shortcut: shortcutConv };
    this.fusable = actFn === 'silu' && resample === null && outputScaleFactor === 1 && [conv1, conv2, shortcutConv].every((c) => !c || c.packable);
  }

  override forward(x: Tensor, ctx: Context): Tensor {
    if (!ctx.inference || !this.fusable) return super.forward(x, ctx);
    const { norm1, conv1, time, conv2, shortcut } = this.parts;
    const a1 = groupNormSilu(x, norm1.groups, norm1.weight.value, norm1.bias.value, norm1.eps, { padding: 1 });
    const a2 = time.inferAfterConv(conv1, a1, ctx);
    const skip = shortcut ? shortcut.infer(x, ctx, {}) : x;
    return conv2.infer(a2, ctx, { residual: skip });
  }
}

/**
 * The middle of a resnet, where the time embedding enters: time_emb_proj(act(temb)) as a per-channel bias
 * before norm2 ('default'), or as AdaGN's scale and shift of norm2 ('scale_shift'). Adds the embedding's
 * gradient into ctx.dTemb in backward.
 */
export class TimeConditionedNorm implements Module {
  readonly name: string;
  readonly projWeight: Parameter;
  readonly projBias: Parameter;
  readonly norm: GroupNorm;
  private readonly timeScaleShift: TimeScaleShift;
  private readonly act: ActivationOps;

  constructor(params: ParameterSet, block: string, readonly channels: number, options: ResnetOptions) {
    this.name = `${block}.time_emb_proj`;
    this.timeScaleShift = options.timeScaleShift;
    this.act = activationOps(options.actFn ?? 'silu', block);
    const projected = options.timeScaleShift === 'scale_shift' ? 2 * channels : channels;
    const init = { uniform: defaultBound(options.tembChannels) };
    this.projWeight = params.add(`${block}.time_emb_proj.weight`, [projected, options.tembChannels], init);
    this.projBias = params.add(`${block}.time_emb_proj.bias`, [projected], init);
    this.norm = new GroupNorm(params, `${block}.norm2`, options.groupsOut ?? options.normGroups, channels, options.eps ?? 1e-5);
  }

  forward(h: Tensor, ctx: Context): Tensor {
    const t = this.act.forward(ctx.timeEmbedding(this));
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
    this.act.backward(dt, ctx.timeEmbedding(this), ctx.dTemb!);
    return dh;
  }

  /**
   * The inference path from act(norm1(x)) (padded by 1) through conv1 and this conditioning to act(norm2(.)),
   * padded by 1 for conv2: the time bias in conv1's epilogue ('default'), or AdaGN inside groupNormSilu.
   */
  inferAfterConv(conv1: Conv2d, a1: Tensor, ctx: Context): Tensor {
    const t = silu(ctx.timeEmbedding(this));
    const { groups, weight, bias, eps } = this.norm;
    if (this.timeScaleShift === 'default') {
      const h = conv1.infer(a1, ctx, { channelBias: linear(t, this.projWeight.value, this.projBias.value) });
      return groupNormSilu(h, groups, weight.value, bias.value, eps, { padding: 1 });
    }
    const scale = linear(t, this.part(this.projWeight, 0), this.part(this.projBias, 0));
    const shift = linear(t, this.part(this.projWeight, 1), this.part(this.projBias, 1));
    return groupNormSilu(conv1.infer(a1, ctx, {}), groups, weight.value, bias.value, eps, { scale, shift, padding: 1 });
  }

  /** Rows [part·C, (part + 1)·C) of the projection: the bias or scale (part 0), the shift (part 1). */
  private part(p: Parameter, part: number, of: 'value' | 'grad' = 'value'): Tensor {
    const C = this.channels, E = p.shape.length === 2 ? p.shape[1] : 1;
    return p.shape.length === 2 ? p[of].subview(part * C * E, [C, E]) : p[of].subview(part * C, [C]);
  }

  /** Backward of one part of time_emb_proj, adding into `dt` when given; returns the gradient of act(temb). */
  private projectionBackward(dProj: Tensor, t: Tensor, part: number, dt?: Tensor): Tensor {
    return linearBackward(dProj, t, this.part(this.projWeight, part), {
      dx: dt, dw: this.part(this.projWeight, part, 'grad'), db: this.part(this.projBias, part, 'grad'),
    }).dx;
  }
}
