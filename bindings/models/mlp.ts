/**
 * A denoiser for low-dimensional data (the 2-D toys): a residual MLP conditioned on the timestep.
 *
 *   temb = time_embedding(sinusoidal(t))                    (linear_1, SiLU, linear_2 -> hiddenSize)
 *   h = input_proj(x) + temb [+ class_embedding(label)]
 *   h = h + blocks.i.linear_2(SiLU(blocks.i.linear_1(SiLU(h))))     for each of numBlocks blocks
 *   out = output_proj(SiLU(h))
 */
import { unknownKeyMessage } from '../core/names.ts';
import { SiLU } from '../nn/activation.ts';
import { Residual, Sequential } from '../nn/combinators.ts';
import type { Context } from '../nn/context.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import { Linear } from '../nn/linear.ts';
import type { InputGrad } from '../nn/module.ts';
import { add } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { Model } from './model.ts';

export interface MLPDenoiserConfig {
  /** Dimension of a data point. Default 2. */
  dataDim?: number;
  /** Width of the hidden layers. Default 128. */
  hiddenSize?: number;
  /** Residual blocks. Default 3. */
  numBlocks?: number;
  /** Size of the sinusoidal time embedding. Default 32. */
  timeEmbedDim?: number;
  /** Class labels for conditioning (0 = unconditional). Default 0. */
  numClassEmbeds?: number;
}

const DEFAULTS: Required<MLPDenoiserConfig> = { dataDim: 2, hiddenSize: 128, numBlocks: 3, timeEmbedDim: 32, numClassEmbeds: 0 };

export class MLPDenoiser extends Model<Required<MLPDenoiserConfig>> {
  readonly kind = 'mlp';
  private readonly conditioning: TimeConditioning;
  private readonly inputProj: Linear;
  /** The residual blocks, then SiLU and output_proj. */
  private readonly body: Sequential;

  constructor(config: MLPDenoiserConfig = {}, seed = 0) {
    const c = resolveConfig(config);
    super(c, [c.dataDim], c.numClassEmbeds);
    const p = this.params;
    this.conditioning = new TimeConditioning(p, c.timeEmbedDim, c.hiddenSize, c.numClassEmbeds);
    this.inputProj = new Linear(p, 'input_proj', c.dataDim, c.hiddenSize);
    const blocks = Array.from({ length: c.numBlocks }, (_, i) => new Residual(`blocks.${i}`, new Sequential(`blocks.${i}`, [
      new SiLU(`blocks.${i}.act_1`), new Linear(p, `blocks.${i}.linear_1`, c.hiddenSize, c.hiddenSize),
      new SiLU(`blocks.${i}.act_2`), new Linear(p, `blocks.${i}.linear_2`, c.hiddenSize, c.hiddenSize),
    ])));
    this.body = new Sequential('body', [...blocks, new SiLU('act_out'), new Linear(p, 'output_proj', c.hiddenSize, c.dataDim)]);
    p.allocate(seed);
  }

  protected forwardPass(x: Tensor, timesteps: Int32Array, classLabels: Int32Array | null, ctx: Context): Tensor {
    ctx.labels = this.conditioningLabels(x.shape[0], classLabels);
    const h = add(this.inputProj.forward(x, ctx), this.conditioning.forward(timesteps, ctx));
    return this.body.forward(h, ctx);
  }

  protected backwardPass(dOut: Tensor, ctx: Context, dx: InputGrad): Tensor | null {
    const dh = this.body.backward(dOut, ctx) as Tensor;
    this.conditioning.backward(dh, ctx);
    return this.inputProj.backward(dh, ctx, dx);
  }
}

function resolveConfig(config: MLPDenoiserConfig): Required<MLPDenoiserConfig> {
  for (const key of Object.keys(config)) {
    if (!(key in DEFAULTS)) throw new Error(unknownKeyMessage('MLPDenoiser', 'option', key, Object.keys(DEFAULTS)));
  }
  const c = { ...DEFAULTS, ...config };
  for (const [key, value] of Object.entries(c)) {
    const min = key === 'numClassEmbeds' ? 0 : key === 'timeEmbedDim' ? 2 : 1;
    if (!Number.isInteger(value) || value < min) throw new Error(`MLPDenoiser: ${key} must be an integer >= ${min}, got ${value}`);
  }
  return c;
}
