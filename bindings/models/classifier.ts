/**
 * A noise-aware classifier for classifier guidance (Dhariwal & Nichol 2021, 'Diffusion models beat GANs'):
 * the encoder half of the U-Net (conv_in, down blocks, middle block, conditioned on the timestep) followed by a
 * pooling head (GroupNorm, SiLU, global average pooling, linear). Trained with cross-entropy on noisy inputs
 * x_t at random t, its input gradient ∇x log p(y | x_t, t) steers sampling (pipelines/pipeline.ts).
 */
import { SiLU } from '../nn/activation.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import type { InputGrad } from '../nn/layer.ts';
import { Linear } from '../nn/linear.ts';
import { ParameterSet } from '../nn/parameters.ts';
import { globalAvgPool, globalAvgPoolBackward } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import { UNetEncoder } from './unet-parts.ts';
import { resolveUNetConfig, type UNet2DConfig } from './unet2d-config.ts';

export interface ClassifierConfig extends Omit<UNet2DConfig, 'outChannels' | 'numClassEmbeds'> {
  /** Number of classes the classifier tells apart. */
  numClasses: number;
}

export class NoiseAwareClassifier {
  readonly kind = 'classifier';
  readonly config: Required<UNet2DConfig> & { numClasses: number };
  readonly params = new ParameterSet();
  readonly numClasses: number;
  private readonly conditioning: TimeConditioning;
  private readonly encoder: UNetEncoder;
  private readonly norm: GroupNorm;
  private readonly act = new SiLU();
  private readonly head: Linear;
  private pooledShape: readonly number[] | null = null;
  private temb: Tensor | null = null;

  constructor(config: ClassifierConfig, seed = 0) {
    const { numClasses, ...unet } = config;
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`NoiseAwareClassifier: numClasses must be an integer >= 2, got ${numClasses}`);
    const c = resolveUNetConfig(unet);
    this.config = { ...c, numClasses };
    this.numClasses = numClasses;
    const p = this.params;
    const channels = c.blockOutChannels, last = channels[channels.length - 1];
    this.conditioning = new TimeConditioning(p, channels[0], channels[0] * 4, 0);
    this.encoder = new UNetEncoder(p, c);
    this.norm = new GroupNorm(p, 'classifier_head.norm', c.normNumGroups, last);
    this.head = new Linear(p, 'classifier_head.linear', last, numClasses);
    p.allocate(seed);
  }

  /** Logits [N, numClasses] of x_t [N, C, H, W] at the given timesteps. */
  forward(x: Tensor, timesteps: Int32Array): Tensor {
    const [C, S] = [this.config.inChannels, this.config.sampleSize];
    if (!(x instanceof Tensor) || x.shape.length !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`NoiseAwareClassifier: x must be [N, ${C}, ${S}, ${S}], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : typeof x}`);
    }
    if (!(timesteps instanceof Int32Array) || timesteps.length !== x.shape[0]) {
      throw new Error(`NoiseAwareClassifier: timesteps must be an Int32Array with one timestep per sample (${x.shape[0]})`);
    }
    const temb = this.conditioning.forward(timesteps, null);
    this.temb = temb;
    const { h } = this.encoder.forward(x, temb);
    const features = this.act.forward(this.norm.forward(h));
    this.pooledShape = features.shape;
    return this.head.forward(globalAvgPool(features));
  }

  /** dLogits -> dx (pass null to skip it, e.g. while training); adds into params.grads. */
  backward(dLogits: Tensor, dx?: InputGrad): Tensor | null {
    if (!this.pooledShape || !this.temb) throw new Error('NoiseAwareClassifier: backward() called before forward()');
    const dPooled = this.head.backward(dLogits)!;
    const dFeatures = globalAvgPoolBackward(dPooled, this.pooledShape);
    const dh = this.norm.backward(this.act.backward(dFeatures)!).dx!;
    const dTemb = Tensor.zeros(this.temb.shape);
    const result = this.encoder.backward(dh, [], dTemb, dx);
    this.conditioning.backward(dTemb);
    return result;
  }
}
