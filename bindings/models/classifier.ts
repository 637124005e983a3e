/**
 * A noise-aware classifier for classifier guidance (Dhariwal & Nichol 2021, 'Diffusion models beat GANs'):
 * the encoder half of the U-Net (conv_in, down blocks, middle block, conditioned on the timestep) followed by a
 * pooling head (GroupNorm, SiLU, global average pooling, linear). Trained with cross-entropy on noisy inputs
 * x_t at random t, its input gradient ∇x log p(y | x_t, t) steers sampling (pipelines/pipeline.ts).
 */
import { SiLU } from '../nn/activation.ts';
import { Sequential } from '../nn/combinators.ts';
import type { Context } from '../nn/context.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import { Linear } from '../nn/linear.ts';
import type { InputGrad } from '../nn/module.ts';
import { GlobalAvgPool } from '../nn/pooling.ts';
import { softmaxCrossEntropy, softmaxCrossEntropyBackward } from '../ops/elementwise.ts';
import { Tensor, tidy } from '../tensor.ts';
import { Model, type ClassInput, type Timesteps } from './model.ts';
import { buildEncoder } from './unet-parts.ts';
import { BASE_OPTIONS, resolveUNetConfig, type ResolvedUNet2DConfig, type UNet2DConfig } from './unet2d-config.ts';
import { unetPlan } from './unet2d-plan.ts';

/** The U-Net's base options (sampleSize, channels, levels, attention, norm, dropout) and the classes. */
export interface ClassifierConfig extends Pick<UNet2DConfig, 'sampleSize' | 'inChannels' | 'blockOutChannels' | 'layersPerBlock'
  | 'attentionResolutions' | 'midBlockAttention' | 'numHeads' | 'normNumGroups' | 'resnetTimeScaleShift' | 'dropout'> {
  /** Number of classes the classifier tells apart. */
  numClasses: number;
}

export class NoiseAwareClassifier extends Model<ResolvedUNet2DConfig & { numClasses: number }> {
  readonly kind = 'classifier';
  private readonly conditioning: TimeConditioning;
  /** The U-Net's encoder, then the head. */
  private readonly body: Sequential;

  constructor(config: ClassifierConfig, seed = 0) {
    const { numClasses, ...unet } = config;
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`NoiseAwareClassifier: numClasses must be an integer >= 2, got ${numClasses}`);
    const other = Object.keys(unet).find((key) => !BASE_OPTIONS.includes(key));
    if (other !== undefined) throw new Error(`NoiseAwareClassifier: option '${other}' is not supported; the classifier takes the U-Net options ${BASE_OPTIONS.join(', ')}`);
    const c = resolveUNetConfig(unet);
    const plan = unetPlan(c);
    super({ ...c, numClasses }, [c.inChannels, plan.height, plan.width], numClasses);
    const p = this.params;
    const channels = c.blockOutChannels, last = channels[channels.length - 1];
    this.conditioning = new TimeConditioning(p, channels[0], channels[0] * 4, 0);
    this.body = new Sequential('classifier', [
      ...buildEncoder(p, plan, false).modules,
      new GroupNorm(p, 'classifier_head.norm', c.normNumGroups, last),
      new SiLU('classifier_head.act'),
      new GlobalAvgPool('classifier_head.pool'),
      new Linear(p, 'classifier_head.linear', last, numClasses),
    ]);
    p.allocate(seed);
  }

  /** Logits [N, numClasses] of x_t [N, C, H, W] at the given timesteps (the classifier takes no labels). */
  protected forwardPass(x: Tensor, timesteps: Timesteps, classLabels: ClassInput | null, ctx: Context): Tensor {
    if (classLabels !== null) throw new Error('NoiseAwareClassifier: the classifier takes no class labels (it predicts them)');
    ctx.temb = this.conditioning.forward(timesteps, ctx);
    return this.body.forward(x, ctx);
  }

  /**
   * ∇x log p(y | x, t) summed over the batch: the input gradient classifier guidance shifts the prediction by
   * (a new tensor [N, C, H, W]). A method of the classifier, so that sampling without one loads no backward code.
   */
  logProbabilityGradient(x: Tensor, timesteps: Int32Array, labels: Int32Array): Tensor {
    return tidy(() => {
      const { probs } = softmaxCrossEntropy(this.forward(x, timesteps), labels);
      // d(-mean CE)/dlogits * N = onehot - probs, the gradient of sum_n log p(y_n | x_n).
      const dLogits = softmaxCrossEntropyBackward(probs, labels, -labels.length);
      return this.backward(dLogits)!;
    });
  }

  protected backwardPass(dLogits: Tensor, ctx: Context, dx: InputGrad): Tensor | null {
    ctx.dTemb = Tensor.zeros(ctx.temb!.shape);
    const result = this.body.backward(dLogits, ctx, dx);
    this.conditioning.backward(ctx.dTemb, ctx);
    return result;
  }
}
