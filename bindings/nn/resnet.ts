/**
 * The residual block of the DDPM U-Net (diffusers' ResnetBlock2D), conditioned on the time embedding:
 *
 *   h = conv1(silu(norm1(x)))
 *   'default':      h = norm2(h + time_emb_proj(silu(temb)))                  (a per-channel bias)
 *   'scale_shift':  h = norm2(h) * (1 + scale) + shift, [scale, shift] = time_emb_proj(silu(temb))   (AdaGN)
 *   y = shortcut(x) + conv2(dropout(silu(h)))       shortcut = 1x1 conv_shortcut when channels change
 */
import { addChannelBias, addInPlace, channelBiasBackward, linear, linearBackward } from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';
import { SiLU } from './activation.ts';
import { Conv2d } from './conv2d.ts';
import { Dropout } from './dropout.ts';
import { GroupNorm } from './groupnorm.ts';
import { saved, type InputGrad } from './layer.ts';
import { defaultBound, type Parameter, type ParameterSet } from './parameters.ts';

export type TimeScaleShift = 'default' | 'scale_shift';

export interface ResnetOptions {
  normGroups: number;
  tembChannels: number;
  timeScaleShift: TimeScaleShift;
  dropout: number;
}

export class ResnetBlock2D {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly tembWeight: Parameter;
  readonly tembBias: Parameter;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  private readonly act1 = new SiLU();
  private readonly actT = new SiLU();
  private readonly act2 = new SiLU();
  readonly dropout: Dropout;
  private tembAct: Tensor | null = null;

  constructor(params: ParameterSet, readonly name: string, readonly inChannels: number, readonly outChannels: number, readonly options: ResnetOptions) {
    const { normGroups, tembChannels, timeScaleShift } = options;
    this.norm1 = new GroupNorm(params, `${name}.norm1`, normGroups, inChannels);
    this.conv1 = new Conv2d(params, `${name}.conv1`, inChannels, outChannels, 3, 1, 1);
    const projected = timeScaleShift === 'scale_shift' ? 2 * outChannels : outChannels;
    const init = { uniform: defaultBound(tembChannels) };
    this.tembWeight = params.add(`${name}.time_emb_proj.weight`, [projected, tembChannels], init);
    this.tembBias = params.add(`${name}.time_emb_proj.bias`, [projected], init);
    this.norm2 = new GroupNorm(params, `${name}.norm2`, normGroups, outChannels);
    this.dropout = new Dropout(options.dropout, `${name}.dropout`);
    this.conv2 = new Conv2d(params, `${name}.conv2`, outChannels, outChannels, 3, 1, 1);
    this.shortcut = inChannels !== outChannels ? new Conv2d(params, `${name}.conv_shortcut`, inChannels, outChannels, 1) : null;
  }

  /** x [N, inChannels, H, W], temb [N, tembChannels] -> [N, outChannels, H, W]. */
  forward(x: Tensor, temb: Tensor): Tensor {
    let h = this.conv1.forward(this.act1.forward(this.norm1.forward(x)));
    const t = this.actT.forward(temb);
    this.tembAct = t;
    const C = this.outChannels;
    if (this.options.timeScaleShift === 'scale_shift') {
      const scale = linear(t, this.tembWeight.value.subview(0, [C, t.shape[1]]), this.tembBias.value.subview(0, [C]));
      const shift = linear(t, this.tembWeight.value.subview(C * t.shape[1], [C, t.shape[1]]), this.tembBias.value.subview(C, [C]));
      h = this.norm2.forward(h, { scale, shift });
    } else {
      addChannelBias(h, linear(t, this.tembWeight.value, this.tembBias.value));
      h = this.norm2.forward(h);
    }
    const y = this.conv2.forward(this.dropout.forward(this.act2.forward(h)));
    addInPlace(y, this.shortcut ? this.shortcut.forward(x) : x);
    return y;
  }

  /** dy -> dx; adds the time embedding's gradient into dTemb [N, tembChannels]. */
  backward(dy: Tensor, dTemb: Tensor, dx?: InputGrad): Tensor | null {
    const dh = this.act2.backward(this.dropout.backward(this.conv2.backward(dy)!)!)!;
    let dConv1: Tensor;
    let dTembAct: Tensor;
    if (this.options.timeScaleShift === 'scale_shift') {
      const { dx: dNorm, dscale, dshift } = this.norm2.backward(dh);
      dConv1 = dNorm!;
      dTembAct = this.projectionBackward(dscale!, 0);
      this.projectionBackward(dshift!, 1, dTembAct);
    } else {
      dConv1 = this.norm2.backward(dh).dx!;
      dTembAct = this.projectionBackward(channelBiasBackward(dConv1), 0);
    }
    this.actT.backward(dTembAct, dTemb);
    const result = this.shortcut ? this.shortcut.backward(dy, dx) : dx ?? (dx === null ? null : dy.reshape(dy.shape));
    if (!this.shortcut && dx) addInPlace(dx, dy);
    this.norm1.backward(this.act1.backward(this.conv1.backward(dConv1)!)!, result);
    return result;
  }

  /** Backward of one C-row part of time_emb_proj (part 0: the bias or scale, part 1: the shift). */
  private projectionBackward(dProj: Tensor, part: number, dTembAct?: Tensor): Tensor {
    const t = saved(this.tembAct, this.name), C = this.outChannels, E = t.shape[1];
    return linearBackward(dProj, t, this.tembWeight.value.subview(part * C * E, [C, E]), {
      dx: dTembAct, dw: this.tembWeight.grad.subview(part * C * E, [C, E]), db: this.tembBias.grad.subview(part * C, [C]),
    }).dx!;
  }
}
