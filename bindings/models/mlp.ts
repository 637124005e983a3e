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
import type { DropoutContext } from '../nn/dropout.ts';
import { TimeConditioning } from '../nn/embeddings.ts';
import type { InputGrad } from '../nn/layer.ts';
import { Linear } from '../nn/linear.ts';
import { ParameterSet } from '../nn/parameters.ts';
import { addInPlace } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import { checkClassLabels, type Denoiser } from './denoiser.ts';

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

class ResidualBlock {
  readonly linear1: Linear;
  readonly linear2: Linear;
  private readonly act1 = new SiLU();
  private readonly act2 = new SiLU();
  constructor(params: ParameterSet, name: string, width: number) {
    this.linear1 = new Linear(params, `${name}.linear_1`, width, width);
    this.linear2 = new Linear(params, `${name}.linear_2`, width, width);
  }
  forward(x: Tensor): Tensor {
    const y = this.linear2.forward(this.act2.forward(this.linear1.forward(this.act1.forward(x))));
    addInPlace(y, x);
    return y;
  }
  /** dy -> dx = dy + the branch's gradient. */
  backward(dy: Tensor): Tensor {
    const dx = dy.reshape(dy.shape);
    this.act1.backward(this.linear1.backward(this.act2.backward(this.linear2.backward(dy)!)!)!, dx);
    return dx;
  }
}

export class MLPDenoiser implements Denoiser {
  readonly kind = 'mlp';
  readonly config: Required<MLPDenoiserConfig>;
  readonly params = new ParameterSet();
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  private readonly conditioning: TimeConditioning;
  private readonly inputProj: Linear;
  private readonly blocks: ResidualBlock[] = [];
  private readonly actOut = new SiLU();
  private readonly outputProj: Linear;

  constructor(config: MLPDenoiserConfig = {}, seed = 0) {
    for (const key of Object.keys(config)) {
      if (!(key in DEFAULTS)) throw new Error(unknownKeyMessage('MLPDenoiser', 'option', key, Object.keys(DEFAULTS)));
    }
    const c = { ...DEFAULTS, ...config };
    for (const [key, value] of Object.entries(c)) {
      const min = key === 'numClassEmbeds' ? 0 : key === 'timeEmbedDim' ? 2 : 1;
      if (!Number.isInteger(value) || value < min) throw new Error(`MLPDenoiser: ${key} must be an integer >= ${min}, got ${value}`);
    }
    this.config = c;
    this.sampleShape = [c.dataDim];
    this.numClasses = c.numClassEmbeds;
    const p = this.params;
    this.conditioning = new TimeConditioning(p, c.timeEmbedDim, c.hiddenSize, c.numClassEmbeds);
    this.inputProj = new Linear(p, 'input_proj', c.dataDim, c.hiddenSize);
    for (let i = 0; i < c.numBlocks; i++) this.blocks.push(new ResidualBlock(p, `blocks.${i}`, c.hiddenSize));
    this.outputProj = new Linear(p, 'output_proj', c.hiddenSize, c.dataDim);
    p.allocate(seed);
  }

  forward(x: Tensor, timesteps: Int32Array, classLabels?: Int32Array | null): Tensor {
    if (!(x instanceof Tensor) || x.shape.length !== 2 || x.shape[1] !== this.config.dataDim) {
      throw new Error(`MLPDenoiser: x must be [N, ${this.config.dataDim}], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : typeof x}`);
    }
    if (!(timesteps instanceof Int32Array) || timesteps.length !== x.shape[0]) {
      throw new Error(`MLPDenoiser: timesteps must be an Int32Array with one timestep per sample (${x.shape[0]})`);
    }
    const labels = checkClassLabels('MLPDenoiser', this.numClasses, x.shape[0], classLabels);
    let h = this.inputProj.forward(x);
    addInPlace(h, this.conditioning.forward(timesteps, labels));
    for (const block of this.blocks) h = block.forward(h);
    return this.outputProj.forward(this.actOut.forward(h));
  }

  backward(dOut: Tensor, dx?: InputGrad): Tensor | null {
    let dh = this.actOut.backward(this.outputProj.backward(dOut)!)!;
    for (let i = this.blocks.length - 1; i >= 0; i--) dh = this.blocks[i].backward(dh);
    this.conditioning.backward(dh);
    return this.inputProj.backward(dh, dx);
  }

  setDropoutContext(_context: DropoutContext | null): void {
    // The MLP has no dropout.
  }
}
