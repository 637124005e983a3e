/**
 * The DDPM U-Net (Ho et al. 2020), configurable as diffusers' UNet2DModel with every one of its options
 * (unet2d-config.ts), including BigGAN's resampling residual blocks (Dhariwal & Nichol 2021), heads by size, and
 * NCSN++'s skip blocks and Fourier time features (Song et al. 2021):
 *
 *   [2x - 1] -> conv_in -> down_blocks[k] (unet-blocks.ts) -> mid_block: resnet, [attention], resnet
 *           -> up_blocks[i] -> conv_norm_out, SiLU, conv_out [+ the skip image] [/ t for 'fourier' time features]
 *
 * Every resnet receives the conditioning vector: time_proj(t) -> time_embedding (linear_1, SiLU, linear_2), plus
 * a class embedding (nn/unet-conditioning.ts). Parameter names are diffusers' state-dict names, so weights move
 * between this library and PyTorch (with numClassEmbeds here = diffusers' num_class_embeds - 1: the extra row is
 * the null label of classifier-free guidance).
 */
import { Sequential } from '../nn/combinators.ts';
import type { Context } from '../nn/context.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import { NormSiluConv } from '../nn/norm-silu-conv.ts';
import type { InputGrad } from '../nn/module.ts';
import { SkipImageOutput } from '../nn/skip-image.ts';
import { UNetConditioning } from '../nn/unet-conditioning.ts';
import { divideRows, divideRowsBackward } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import { attributeLabelCount } from '../core/attribute-labels.ts';
import { Model, type ClassInput, type Timesteps } from './model.ts';
import { buildDecoder, buildEncoder } from './unet-parts.ts';
import { resolveUNetConfig, type ResolvedUNet2DConfig, type UNet2DConfig } from './unet2d-config.ts';
import { unetPlan, type UNetPlan } from './unet2d-plan.ts';

export class UNet2DModel extends Model<ResolvedUNet2DConfig> {
  readonly kind = 'unet2d';
  /** The explicit architecture built from the config. */
  readonly plan: UNetPlan;
  private readonly conditioning: UNetConditioning;
  /** conv_in, the down path, the middle, the up path, conv_norm_out, SiLU, conv_out (and the skip image). */
  private readonly body: Sequential;
  /** The number of values of each attribute, for a model with labels per attribute (core/attribute-labels.ts). */
  readonly classAttributes: readonly number[] | undefined;
  /** k of the conditioning image joined to the input (0: none). */
  readonly conditionChannels: number;
  /** The key of what the 'fourier' output division saves (the timesteps). */
  private readonly outputDivision = { name: 'unet.output / timesteps' };

  /** Builds the model and initialises its parameters from `seed` (PyTorch's default initialisation). */
  constructor(config: UNet2DConfig = {}, seed = 0) {
    const c = resolveUNetConfig(config);
    const plan = unetPlan(c);
    const classes = plan.classes;
    super(c, [plan.inChannels, plan.height, plan.width],
      classes?.type === 'table' ? classes.numClasses : classes?.type === 'attributes' ? attributeLabelCount(classes.sizes) : 0);
    this.classAttributes = classes?.type === 'attributes' ? [...classes.sizes] : undefined;
    this.conditionChannels = plan.conditionChannels;
    this.plan = plan;
    const p = this.params;
    const channels = plan.channels;
    this.conditioning = new UNetConditioning(p, plan.projection, channels[0] * 4, plan.classes);
    const encoder = buildEncoder(p, plan, true);
    this.body = new Sequential('unet', [
      ...encoder.modules,
      ...buildDecoder(p, plan, encoder),
      new NormSiluConv('output', new GroupNorm(p, 'conv_norm_out', plan.normNumGroups, channels[0], plan.normEps), 'conv_act',
        new Conv2d(p, 'conv_out', channels[0], plan.outChannels, 3, 1, 1)),
      ...(encoder.upImage ? [new SkipImageOutput(encoder.upImage)] : []),
    ]);
    p.allocate(seed);
  }

  /** [outChannels, height, width]: twice the input's channels for a model that predicts its variance. */
  override get outputShape(): readonly number[] {
    return [this.plan.outChannels, this.plan.height, this.plan.width];
  }

  /**
   * The class input the model takes: a label per sample (Int32Array) for a label table or class_embed_type
   * 'timestep', a vector [N, 4·C0] per sample (Float32Array, row-major) for 'identity', nothing otherwise.
   */
  get classInput(): 'labels' | 'vectors' | null {
    const type = this.plan.classes?.type;
    return type === 'identity' ? 'vectors' : type ? 'labels' : null;
  }

  protected forwardPass(x: Tensor, timesteps: Timesteps, classLabels: ClassInput | null, ctx: Context): Tensor {
    const N = x.shape[0];
    const classes = this.plan.classes;
    const labelled = classes === null || classes.type === 'table' || classes.type === 'attributes';
    if (labelled) ctx.labels = this.conditioningLabels(N, classLabels);
    else this.checkClassInput(N, classLabels);
    if (this.conditionChannels === 0 && ctx.condition !== null) {
      throw new Error('UNet2DModel: a conditioning image was given, but this model takes none (conditionChannels is 0)');
    }
    const t = Float32Array.from(timesteps);
    ctx.temb = this.conditioning.forward(t, labelled ? null : classLabels, ctx);
    const y = this.body.forward(x, ctx);
    if (this.plan.projection.type !== 'fourier') return y;
    ctx.save(this.outputDivision, t);
    return divideRows(y, t);
  }

  protected backwardPass(dOut: Tensor, ctx: Context, dx: InputGrad): Tensor | null {
    const dy = this.plan.projection.type === 'fourier' ? divideRowsBackward(dOut, ctx.restore<Float32Array>(this.outputDivision)) : dOut;
    ctx.dTemb = Tensor.zeros(ctx.temb!.shape);
    const result = this.body.backward(dy, ctx, dx);
    this.conditioning.backward(ctx.dTemb, ctx);
    return result;
  }

  /** Checks the class input of class_embed_type 'timestep' (N integer labels) or 'identity' (N · 4·C0 floats). */
  private checkClassInput(N: number, input: ClassInput | null): void {
    const type = this.plan.classes!.type, width = this.plan.channels[0] * 4;
    if (type === 'timestep' && !(input instanceof Int32Array && input.length === N)) {
      throw new Error(`UNet2DModel: class_embed_type 'timestep' needs one integer label per sample (an Int32Array of ${N}), got ${describe(input)}`);
    }
    if (type === 'identity' && !(input instanceof Float32Array && input.length === N * width)) {
      throw new Error(`UNet2DModel: class_embed_type 'identity' needs a class vector of ${width} per sample (a Float32Array of ${N} x ${width}), got ${describe(input)}`);
    }
  }
}

function describe(input: unknown): string {
  if (input === null || input === undefined) return 'none';
  if (ArrayBuffer.isView(input)) return `a ${input.constructor.name} of ${(input as Float32Array).length}`;
  return typeof input;
}
