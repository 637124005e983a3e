/**
 * The conditioning vector of diffusers' UNet2DModel, every option: the timesteps' projection `time_proj`, the
 * `time_embedding` MLP (linear_1, SiLU, linear_2 to 4·C0), and a `class_embedding` added to it.
 *
 *   time_proj   'positional': sinusoidal features of t ([cos, sin] or [sin, cos]: flipSinToCos; frequencies
 *               10000^(-i / (C0/2 - freqShift))), no parameters;
 *               'fourier': Gaussian Fourier features [sin, cos] of log(t) (score-SDE; 2·C0 wide), frequencies
 *               `time_proj.weight` fixed at their initial values, as diffusers freezes them (requires_grad False);
 *               'learned': a table `time_proj.weight` [numTrainTimesteps, C0] indexed by integer t, trained.
 *   class       a table of labels (numClassEmbeds + 1 rows, the last the null label of classifier-free guidance);
 *               labels per attribute: a table per attribute, `class_embeddings.a` (nn/attribute-embedding.ts);
 *               'timestep': the labels through time_proj and their own MLP class_embedding.linear_1/2;
 *               'identity': vectors [N, 4·C0] given as the class input, added as they are.
 *
 * Parameters are declared in diffusers' order: time_proj, time_embedding, class_embedding.
 */
import { add, addInPlace, fourierEmbedding, timestepEmbedding } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import { AttributeEmbedding } from './attribute-embedding.ts';
import { ClassEmbedding, TimestepEmbedding } from './embeddings.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

export type TimeEmbeddingType = 'positional' | 'fourier' | 'learned';
/** How class information enters: a label table, labels through time_proj ('timestep'), vectors ('identity'). */
export type ClassConditioning = { type: 'table'; numClasses: number } | { type: 'attributes'; sizes: number[] } | { type: 'timestep' } | { type: 'identity' } | null;

export interface ProjectionOptions {
  /** C0, the width of the sinusoidal and learned features (the Fourier features are 2·C0 wide). */
  channels: number;
  type: TimeEmbeddingType;
  /** 'positional': [cos, sin] when true. */
  flipSinToCos: boolean;
  /** 'positional': s in 10000^(-i / (C0/2 - s)). */
  freqShift: number;
  /** 'learned': the rows of the table. */
  numTrainTimesteps: number;
}

/** diffusers' `time_proj` of UNet2DModel. */
export class TimestepProjection {
  readonly weight: Parameter | null;
  /** The width of its output. */
  readonly width: number;

  constructor(params: ParameterSet, readonly name: string, private readonly options: ProjectionOptions) {
    const { channels, type, numTrainTimesteps } = options;
    this.width = type === 'fourier' ? 2 * channels : channels;
    // N(0, 16²) (fourier, scale 16) and N(0, 1) (nn.Embedding) in PyTorch; uniform with the same variance here,
    // as the class table does, so that one random primitive initialises everything.
    this.weight = type === 'fourier' ? params.add(`${name}.weight`, [channels], { uniform: 16 * Math.sqrt(3) })
      : type === 'learned' ? params.add(`${name}.weight`, [numTrainTimesteps, channels], { uniform: Math.sqrt(3) })
        : null;
  }

  /** Checks that `values` can be projected: finite; positive ('fourier'); integers in [0, rows) ('learned'). */
  check(values: Float32Array, what: string): void {
    const { type, numTrainTimesteps } = this.options;
    const bad = values.findIndex((v) => !Number.isFinite(v) || (type === 'fourier' && !(v > 0))
      || (type === 'learned' && !(Number.isInteger(v) && v >= 0 && v < numTrainTimesteps)));
    if (bad < 0) return;
    const allowed = type === 'fourier' ? 'positive (the Fourier features take their log)'
      : type === 'learned' ? `integers in [0, ${numTrainTimesteps}) (rows of the learned table)` : 'finite';
    throw new Error(`${this.name}: ${what} must be ${allowed}, got ${values[bad]} at index ${bad}`);
  }

  /** [N, width]. */
  forward(values: Float32Array): Tensor {
    const { type, channels, flipSinToCos, freqShift } = this.options;
    if (type === 'positional') return timestepEmbedding(values, channels, { flipSinToCos, downscaleFreqShift: freqShift });
    if (type === 'fourier') return fourierEmbedding(values, this.weight!.value);
    const out = new Tensor([values.length, channels]), table = this.weight!.value.view();
    values.forEach((t, n) => out.view().set(table.subarray(t * channels, (t + 1) * channels), n * channels));
    return out;
  }

  /** Adds dy [N, width] into the learned table's gradient rows (in order of n); the other types train nothing. */
  backward(dy: Tensor, values: Float32Array): void {
    if (this.options.type !== 'learned') return;
    const C = this.options.channels, grad = this.weight!.grad;
    values.forEach((t, n) => addInPlace(grad.subview(t * C, [C]), dy.subview(n * C, [C])));
  }

  /** Whether backward needs the gradient of the output (only the learned table trains). */
  get trains(): boolean { return this.options.type === 'learned'; }
}

interface Saved { timesteps: Float32Array; labels: Float32Array | null }

/** time_proj, time_embedding and the class embedding: the vector [N, 4·C0] that conditions every resnet. */
export class UNetConditioning {
  readonly name = 'conditioning';
  readonly projection: TimestepProjection;
  private readonly timeEmbedding: TimestepEmbedding;
  private readonly table: ClassEmbedding | AttributeEmbedding | null = null;
  private readonly classEmbedding: TimestepEmbedding | null = null;

  constructor(params: ParameterSet, projection: ProjectionOptions, readonly embedChannels: number, readonly classes: ClassConditioning) {
    this.projection = new TimestepProjection(params, 'time_proj', projection);
    this.timeEmbedding = new TimestepEmbedding(params, 'time_embedding', this.projection.width, embedChannels);
    if (classes?.type === 'table') this.table = new ClassEmbedding(params, 'class_embedding', classes.numClasses, embedChannels);
    if (classes?.type === 'attributes') this.table = new AttributeEmbedding(params, 'class_embeddings', classes.sizes, embedChannels);
    if (classes?.type === 'timestep') this.classEmbedding = new TimestepEmbedding(params, 'class_embedding', this.projection.width, embedChannels);
  }

  /**
   * The embedding of `timesteps` (and of the class input: ctx.labels for a table, `labels` for 'timestep', the
   * [N, 4·C0] vectors for 'identity'), checked by the caller against the batch.
   */
  forward(timesteps: Float32Array, classInput: Int32Array | Float32Array | null, ctx: Context): Tensor {
    this.projection.check(timesteps, 'timesteps');
    const labels = this.classEmbedding ? Float32Array.from(classInput!) : null;
    if (labels) this.projection.check(labels, "class labels (class_embed_type 'timestep' projects them like timesteps)");
    ctx.save<Saved>(this, { timesteps, labels });
    let emb = this.timeEmbedding.forward(this.projection.forward(timesteps), ctx);
    if (this.table) emb = this.table.forward(emb, ctx);
    if (this.classEmbedding) emb = add(emb, this.classEmbedding.forward(this.projection.forward(labels!), ctx));
    if (this.classes?.type === 'identity') emb = add(emb, Tensor.from(classInput as Float32Array, emb.shape));
    return emb;
  }

  /** Accumulates the parameter gradients for the embedding's gradient dTemb. */
  backward(dTemb: Tensor, ctx: Context): void {
    const { timesteps, labels } = ctx.restore<Saved>(this);
    const trains = this.projection.trains;
    if (this.table) this.table.backward(dTemb, ctx);
    if (this.classEmbedding) {
      const dLabels = this.classEmbedding.backward(dTemb, ctx, trains ? undefined : null);
      if (dLabels) this.projection.backward(dLabels, labels!);
    }
    const dTime = this.timeEmbedding.backward(dTemb, ctx, trains ? undefined : null);
    if (dTime) this.projection.backward(dTime, timesteps);
  }
}
