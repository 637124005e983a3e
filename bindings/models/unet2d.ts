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
import type { DropoutContext } from '../nn/dropout.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import type { InputGrad } from '../nn/layer.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { ParameterSet } from '../nn/parameters.ts';
import { Upsample2D } from '../nn/resample.ts';
import { concatChannels, concatChannelsBackward } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import { checkClassLabels, type Denoiser } from './denoiser.ts';
import { makeStage, Stage, UNetEncoder } from './unet-parts.ts';
import { resolveUNetConfig, type UNet2DConfig } from './unet2d-config.ts';

export class UNet2DModel implements Denoiser {
  readonly kind = 'unet2d';
  readonly config: Required<UNet2DConfig>;
  readonly params = new ParameterSet();
  readonly sampleShape: readonly number[];
  readonly numClasses: number;

  private readonly conditioning: TimeConditioning;
  private readonly encoder: UNetEncoder;
  /** The up path in order: stages (each eating one skip) and upsamplers. */
  private readonly up: (Stage | Upsample2D)[] = [];
  private readonly normOut: GroupNorm;
  private readonly actOut = new SiLU();
  private readonly convOut: Conv2d;
  private saved: { temb: Tensor; skipChannels: number[] } | null = null;

  /** Builds the model and initialises its parameters from `seed` (PyTorch's default initialisation). */
  constructor(config: UNet2DConfig = {}, seed = 0) {
    const c = resolveUNetConfig(config);
    this.config = c;
    this.sampleShape = [c.inChannels, c.sampleSize, c.sampleSize];
    this.numClasses = c.numClassEmbeds;
    const p = this.params;
    const channels = c.blockOutChannels;
    this.conditioning = new TimeConditioning(p, channels[0], channels[0] * 4, c.numClassEmbeds);
    this.encoder = new UNetEncoder(p, c);

    const skips = this.encoder.skipChannels;
    let resolution = this.encoder.lowestResolution;
    let prev = channels[channels.length - 1];
    [...channels].reverse().forEach((outC, i) => {
      for (let j = 0; j <= c.layersPerBlock; j++) {
        this.up.push(makeStage(p, c, `up_blocks.${i}`, j, prev + skips.pop()!, outC, resolution));
        prev = outC;
      }
      if (i < channels.length - 1) {
        this.up.push(new Upsample2D(p, `up_blocks.${i}.upsamplers.0`, outC));
        resolution *= 2;
      }
    });
    this.normOut = new GroupNorm(p, 'conv_norm_out', c.normNumGroups, channels[0]);
    this.convOut = new Conv2d(p, 'conv_out', channels[0], c.outChannels, 3, 1, 1);
    p.allocate(seed);
  }

  forward(x: Tensor, timesteps: Int32Array, classLabels?: Int32Array | null): Tensor {
    this.checkInput(x, timesteps);
    const labels = checkClassLabels('UNet2DModel', this.numClasses, x.shape[0], classLabels);
    const temb = this.conditioning.forward(timesteps, labels);
    let { h, skips } = this.encoder.forward(x, temb);
    const skipChannels: number[] = [];
    for (const layer of this.up) {
      if (layer instanceof Stage) {
        const skip = skips.pop()!;
        skipChannels.push(skip.shape[1]);
        h = layer.forward(concatChannels(h, skip), temb);
      } else {
        h = layer.forward(h);
      }
    }
    this.saved = { temb, skipChannels };
    return this.convOut.forward(this.actOut.forward(this.normOut.forward(h)));
  }

  backward(dOut: Tensor, dx?: InputGrad): Tensor | null {
    if (!this.saved) throw new Error('UNet2DModel: backward() called before forward()');
    const { temb, skipChannels } = this.saved;
    const dTemb = Tensor.zeros(temb.shape);
    let dh = this.normOut.backward(this.actOut.backward(this.convOut.backward(dOut)!)!).dx!;
    // Up path, last layer first: each stage's input gradient splits into the path below and its skip. The
    // stages consumed the skips last-pushed first, so walking them backwards meets the skips in push order.
    const dSkips: Tensor[] = [];
    let stage = skipChannels.length;
    for (let i = this.up.length - 1; i >= 0; i--) {
      const layer = this.up[i];
      if (layer instanceof Stage) {
        const dCat = layer.backward(dh, dTemb)!;
        const { da, db } = concatChannelsBackward(dCat, dCat.shape[1] - skipChannels[--stage]);
        dh = da;
        dSkips.push(db);
      } else {
        dh = layer.backward(dh)!;
      }
    }
    const result = this.encoder.backward(dh, dSkips, dTemb, dx);
    this.conditioning.backward(dTemb);
    return result;
  }

  setDropoutContext(context: DropoutContext | null): void {
    const resnets = [...this.encoder.resnets, ...this.up.filter((l): l is Stage => l instanceof Stage).map((s) => s.resnet)];
    for (const resnet of resnets) resnet.dropout.context = context;
  }

  private checkInput(x: Tensor, timesteps: Int32Array): void {
    const [C, S] = [this.config.inChannels, this.config.sampleSize];
    if (!(x instanceof Tensor) || x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`UNet2DModel: x must be [N, ${C}, ${S}, ${S}], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : typeof x}`);
    }
    if (!(timesteps instanceof Int32Array) || timesteps.length !== x.shape[0]) {
      throw new Error(`UNet2DModel: timesteps must be an Int32Array with one timestep per sample (${x.shape[0]})`);
    }
  }
}
