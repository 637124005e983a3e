/**
 * The DDPM U-Net (Ho et al. 2020, as diffusers' UNet2DModel builds it), configurable like diffusers' model:
 *
 *   conv_in -> down_blocks[i]: layersPerBlock x (ResnetBlock2D [+ attention]), then a stride-2 conv (not the last)
 *           -> mid_block: resnet, attention, resnet
 *           -> up_blocks[i]: (layersPerBlock + 1) x (concat skip, ResnetBlock2D [+ attention]), then 2x up (not the last)
 *           -> conv_norm_out, SiLU, conv_out
 *
 * Every resnet receives the time embedding: sinusoidal(t) -> time_embedding (linear_1, SiLU, linear_2), plus a
 * learned class embedding when numClassEmbeds > 0. Parameter names are diffusers' state-dict names, so weights
 * can move between this library and PyTorch (with numClassEmbeds here = diffusers' num_class_embeds - 1: the
 * extra row is the null label of classifier-free guidance).
 */
import { SiLU } from '../nn/activation.ts';
import { Sequential } from '../nn/combinators.ts';
import type { Context } from '../nn/context.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import type { InputGrad } from '../nn/module.ts';
import { Tensor } from '../tensor.ts';
import { Model } from './model.ts';
import { buildDecoder, buildEncoder } from './unet-parts.ts';
import { resolveUNetConfig, type UNet2DConfig } from './unet2d-config.ts';

export class UNet2DModel extends Model<Required<UNet2DConfig>> {
  readonly kind = 'unet2d';
  private readonly conditioning: TimeConditioning;
  /** conv_in, the down path, the middle, the up path, conv_norm_out, SiLU, conv_out. */
  private readonly body: Sequential;

  /** Builds the model and initialises its parameters from `seed` (PyTorch's default initialisation). */
  constructor(config: UNet2DConfig = {}, seed = 0) {
    const c = resolveUNetConfig(config);
    super(c, [c.inChannels, c.sampleSize, c.sampleSize], c.numClassEmbeds);
    const p = this.params;
    const channels = c.blockOutChannels;
    this.conditioning = new TimeConditioning(p, channels[0], channels[0] * 4, c.numClassEmbeds);
    const encoder = buildEncoder(p, c, true);
    this.body = new Sequential('unet', [
      ...encoder.modules,
      ...buildDecoder(p, c, encoder),
      new GroupNorm(p, 'conv_norm_out', c.normNumGroups, channels[0]),
      new SiLU('conv_act'),
      new Conv2d(p, 'conv_out', channels[0], c.outChannels, 3, 1, 1),
    ]);
    p.allocate(seed);
  }

  protected forwardPass(x: Tensor, timesteps: Int32Array, classLabels: Int32Array | null, ctx: Context): Tensor {
    ctx.labels = this.conditioningLabels(x.shape[0], classLabels);
    ctx.temb = this.conditioning.forward(timesteps, ctx);
    return this.body.forward(x, ctx);
  }

  protected backwardPass(dOut: Tensor, ctx: Context, dx: InputGrad): Tensor | null {
    ctx.dTemb = Tensor.zeros(ctx.temb!.shape);
    const result = this.body.backward(dOut, ctx, dx);
    this.conditioning.backward(ctx.dTemb, ctx);
    return result;
  }
}
