/**
 * The parts UNet2DModel and the noise-aware classifier share: the encoder (conv_in, the down blocks and the
 * middle block) whose intermediate outputs are the U-Net's skip connections, and the stages it is made of.
 * Names follow diffusers' UNet2DModel state dict. (The time conditioning, shared with the MLP, is in
 * nn/embeddings.ts.)
 */
import { AttentionBlock } from '../nn/attention.ts';
import { Conv2d } from '../nn/conv2d.ts';
import type { InputGrad } from '../nn/layer.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import { Downsample2D } from '../nn/resample.ts';
import { ResnetBlock2D, type ResnetOptions } from '../nn/resnet.ts';
import { addInPlace } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { UNet2DConfig } from './unet2d-config.ts';

/** A resnet, optionally followed by self-attention: the unit the down and up paths are made of. */
export class Stage {
  constructor(readonly resnet: ResnetBlock2D, readonly attention: AttentionBlock | null) {}

  forward(x: Tensor, temb: Tensor): Tensor {
    const h = this.resnet.forward(x, temb);
    return this.attention ? this.attention.forward(h) : h;
  }

  backward(dy: Tensor, dTemb: Tensor, dx?: InputGrad): Tensor | null {
    const dh = this.attention ? this.attention.backward(dy)! : dy;
    return this.resnet.backward(dh, dTemb, dx);
  }
}

/** Builds the j-th stage of a block, named `<block>.resnets.<j>` and `<block>.attentions.<j>` as in diffusers. */
export function makeStage(p: ParameterSet, c: Required<UNet2DConfig>, block: string, j: number, inC: number, outC: number, resolution: number): Stage {
  return new Stage(
    new ResnetBlock2D(p, `${block}.resnets.${j}`, inC, outC, resnetOptions(c)),
    c.attentionResolutions.includes(resolution) ? new AttentionBlock(p, `${block}.attentions.${j}`, outC, c.numHeads, c.normNumGroups) : null);
}

export function resnetOptions(c: Required<UNet2DConfig>): ResnetOptions {
  return { normGroups: c.normNumGroups, tembChannels: c.blockOutChannels[0] * 4, timeScaleShift: c.resnetTimeScaleShift, dropout: c.dropout };
}

/** conv_in, the down blocks and the middle block. */
export class UNetEncoder {
  readonly convIn: Conv2d;
  /** The down path in order: stages and downsamplers, each output also a skip connection. */
  readonly down: (Stage | Downsample2D)[] = [];
  readonly mid: [ResnetBlock2D, AttentionBlock | null, ResnetBlock2D];
  /** The resolution after the last downsampler. */
  readonly lowestResolution: number;

  constructor(p: ParameterSet, c: Required<UNet2DConfig>) {
    const channels = c.blockOutChannels;
    this.convIn = new Conv2d(p, 'conv_in', c.inChannels, channels[0], 3, 1, 1);
    let resolution = c.sampleSize;
    let inC = channels[0];
    channels.forEach((outC, i) => {
      for (let j = 0; j < c.layersPerBlock; j++) this.down.push(makeStage(p, c, `down_blocks.${i}`, j, j === 0 ? inC : outC, outC, resolution));
      if (i < channels.length - 1) {
        this.down.push(new Downsample2D(p, `down_blocks.${i}.downsamplers.0`, outC));
        resolution /= 2;
      }
      inC = outC;
    });
    this.lowestResolution = resolution;
    const last = channels[channels.length - 1];
    this.mid = [
      new ResnetBlock2D(p, 'mid_block.resnets.0', last, last, resnetOptions(c)),
      c.midBlockAttention ? new AttentionBlock(p, 'mid_block.attentions.0', last, c.numHeads, c.normNumGroups) : null,
      new ResnetBlock2D(p, 'mid_block.resnets.1', last, last, resnetOptions(c)),
    ];
  }

  /** Channels of the skip connections, in the order forward pushes them. */
  get skipChannels(): number[] {
    return [this.convIn.outChannels, ...this.down.map((l) => (l instanceof Stage ? l.resnet.outChannels : l.conv.outChannels))];
  }

  get resnets(): ResnetBlock2D[] {
    return [...this.down.filter((l): l is Stage => l instanceof Stage).map((s) => s.resnet), this.mid[0], this.mid[2]];
  }

  /** Returns the middle block's output and the skips (conv_in's output, then every down layer's output). */
  forward(x: Tensor, temb: Tensor): { h: Tensor; skips: Tensor[] } {
    let h = this.convIn.forward(x);
    const skips = [h];
    for (const layer of this.down) {
      h = layer instanceof Stage ? layer.forward(h, temb) : layer.forward(h);
      skips.push(h);
    }
    const [mid0, midAttention, mid1] = this.mid;
    h = mid0.forward(h, temb);
    if (midAttention) h = midAttention.forward(h);
    return { h: mid1.forward(h, temb), skips };
  }

  /**
   * dh (the gradient of the middle block's output) -> dx. `dSkips` holds each skip's gradient in push order
   * (or is empty when nothing used the skips); each is added where its skip left the path.
   */
  backward(dh: Tensor, dSkips: Tensor[], dTemb: Tensor, dx?: InputGrad): Tensor | null {
    const [mid0, midAttention, mid1] = this.mid;
    dh = mid1.backward(dh, dTemb)!;
    if (midAttention) dh = midAttention.backward(dh)!;
    dh = mid0.backward(dh, dTemb)!;
    for (let i = this.down.length - 1; i >= 0; i--) {
      if (dSkips.length > 0) addInPlace(dh, dSkips[i + 1]);
      const layer = this.down[i];
      dh = layer instanceof Stage ? layer.backward(dh, dTemb)! : layer.backward(dh)!;
    }
    if (dSkips.length > 0) addInPlace(dh, dSkips[0]);
    return this.convIn.backward(dh, dx);
  }
}
