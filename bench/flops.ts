/**
 * The flops of a UNet2DModel, counted analytically from its config: the layers are walked in the order
 * bindings/models/unet2d.ts builds them, and every convolution, linear layer and attention core is counted.
 *
 *   conv    forward 2·N·K·OH·OW·C·R·S; backward the same for dW and again for dx (conv_in needs no dx)
 *   linear  forward 2·rows·in·out; backward twice that (dW and dx)
 *   attention core (per batch item and head)  forward 4·T²·D; backward 8·T²·D
 *
 * Group norms, SiLU, additions, upsampling, the loss and AdamW are elementwise (a few flops per element, well
 * under 1% of the total) and are not counted, as is the attention backward's recomputation of the softmax.
 */
import { BASE_OPTIONS, resolveUNetConfig, type ResolvedUNet2DConfig, type UNet2DConfig } from '../bindings/models/unet2d-config.ts';

export interface FlopCount {
  forward: number;
  /** Forward + backward: one training step (the optimizer not counted). */
  step: number;
  /** Forward + backward flops per kind of layer. */
  byKind: { conv: number; linear: number; attention: number };
  /** Every convolution of one forward, in the order it runs. */
  convolutions: ConvCall[];
}

/** One convolution of the forward: C input and K output channels, an R x R kernel, output size x size. */
export interface ConvCall { C: number; K: number; size: number; R: number; stride: number; upsampled: boolean }

/** The base U-Net the benchmarks model (square samples, attentionResolutions and numHeads), resolved. */
export type BaseUNetConfig = ResolvedUNet2DConfig & { sampleSize: number; numHeads: number; attentionResolutions: number[] };

/** `config` resolved, or an error when it uses diffusers' other options (the benchmarks count the base U-Net only). */
export function baseUNetConfig(config: UNet2DConfig): BaseUNetConfig {
  const c = resolveUNetConfig(config);
  if (typeof c.sampleSize !== 'number' || c.numHeads === undefined || c.attentionResolutions === undefined || Object.keys(c).some((key) => !BASE_OPTIONS.includes(key))) {
    throw new Error('the benchmarks model the base U-Net: square samples, attentionResolutions and numHeads, no other diffusers option');
  }
  return c as BaseUNetConfig;
}

/** Counts the flops of a forward and of a training step of `config` on a batch of `batch` images. */
export function unetFlops(config: UNet2DConfig, batch: number): FlopCount {
  const c = baseUNetConfig(config);
  const { numHeads, attentionResolutions } = c;
  const count: FlopCount = { forward: 0, step: 0, byKind: { conv: 0, linear: 0, attention: 0 }, convolutions: [] };
  const add = (kind: keyof FlopCount['byKind'], forward: number, backward: number) => {
    count.forward += forward;
    count.step += forward + backward;
    count.byKind[kind] += forward + backward;
  };
  const conv = (C: number, K: number, size: number, R: number, stride = 1, needsDx = true, upsampled = false): number => {
    const out = Math.floor((size + 2 * ((R - 1) >> 1) - R) / stride) + 1;
    const f = 2 * batch * K * out * out * C * R * R;
    add('conv', f, needsDx ? 2 * f : f);
    count.convolutions.push({ C, K, size: out, R, stride, upsampled });
    return out;
  };
  const linear = (rows: number, inF: number, outF: number) => add('linear', 2 * rows * inF * outF, 4 * rows * inF * outF);
  const channels = c.blockOutChannels, tembChannels = channels[0] * 4;
  const resnet = (inC: number, outC: number, size: number) => {
    conv(inC, outC, size, 3);
    linear(batch, tembChannels, c.resnetTimeScaleShift === 'scale_shift' ? 2 * outC : outC);
    conv(outC, outC, size, 3);
    if (inC !== outC) conv(inC, outC, size, 1);
  };
  const attentionBlock = (C: number, size: number) => {
    const tokens = size * size, d = C / numHeads, heads = batch * numHeads;
    for (let i = 0; i < 4; i++) linear(batch * tokens, C, C);
    add('attention', 4 * tokens * tokens * d * heads, 8 * tokens * tokens * d * heads);
  };
  const stage = (inC: number, outC: number, size: number) => {
    resnet(inC, outC, size);
    if (attentionResolutions.includes(size)) attentionBlock(outC, size);
  };

  linear(batch, channels[0], tembChannels);
  linear(batch, tembChannels, tembChannels);
  let size = c.sampleSize;
  conv(c.inChannels, channels[0], size, 3, 1, false);
  const skips = [channels[0]];
  let inC = channels[0];
  channels.forEach((outC, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      stage(j === 0 ? inC : outC, outC, size);
      skips.push(outC);
    }
    if (i < channels.length - 1) {
      size = conv(outC, outC, size, 3, 2);
      skips.push(outC);
    }
    inC = outC;
  });
  const last = channels[channels.length - 1];
  resnet(last, last, size);
  if (c.midBlockAttention) attentionBlock(last, size);
  resnet(last, last, size);
  let prev = last;
  [...channels].reverse().forEach((outC, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) {
      stage(prev + skips.pop()!, outC, size);
      prev = outC;
    }
    if (i < channels.length - 1) {
      size *= 2;
      conv(outC, outC, size, 3, 1, true, true);
    }
  });
  conv(channels[0], c.outChannels, size, 3);
  return count;
}
