/**
 * What flows beside the activations through one forward pass and its backward: the pass's mode, dropout's random
 * address, the conditioning (time embedding, class labels, a conditioning image) and the gradient of the time embedding, the U-Net's
 * skip connections, and what each module saved for its backward.
 */
import type { Tensor } from '../tensor.ts';
import type { InferenceCache, Prepared } from './inference-cache.ts';

/** A module, as the context knows it: by its name (in error messages) and its identity (the key of what it saved). */
interface Owner { readonly name: string }

/** Where a training step's dropout masks come from: the run's seed and the global index of the batch's first sample. */
export interface DropoutAddress {
  seed: number;
  /** Global index of the first sample of this batch (e.g. step * batchSize + its place in the batch). */
  firstSample: number;
}

/** How an inference pass runs its 3x3 convolutions (see PassOptions.convolutions). */
export type Convolutions = 'direct' | 'winograd';
export const CONVOLUTIONS: readonly Convolutions[] = ['direct', 'winograd'];

/** `value` if it is one of CONVOLUTIONS, else a one-line error of `op`. */
export function checkConvolutions(op: string, value: unknown): Convolutions {
  if (!CONVOLUTIONS.includes(value as Convolutions)) throw new Error(`${op}: convolutions must be 'direct' or 'winograd', got ${String(value)}`);
  return value as Convolutions;
}

/** How a model runs a forward pass. */
export interface PassOptions {
  /**
   * `'train'` saves what backward needs; `'inference'` saves nothing (sampling, evaluation), so backward is not
   * available after it. The outputs are the same bits. Default `'train'`.
   */
  mode?: 'train' | 'inference';
  /** Dropout's random address; dropout is the identity without it (evaluation). Default null. */
  dropout?: DropoutAddress | null;
  /** With mode 'inference': weights prepared for the inference kernels, kept across passes (nn/inference-cache.ts). */
  cache?: InferenceCache | null;
  /**
   * With mode 'inference': how the 3x3 stride-1 convolutions with 16 or more channels in and out run. `'direct'`
   * gives the training layers' bits; `'winograd'` (Winograd's F(2x2, 3x3), ops/conv2d-winograd.ts) does 2.25x
   * fewer multiplies, about 1.6x faster sampling, and rounds differently (errors of a few 1e-7 of the outputs'
   * scale): still the same bits in every engine, not the layers'. Default `'direct'` for a pass (the sampling
   * pipelines' own default is `'winograd'`, GenerateOptions.convolutions).
   */
  convolutions?: Convolutions;
  /**
   * The conditioning image [N, k, H, W] of a model conditioned by concatenation (a U-Net with conditionChannels k):
   * it joins the input as k extra channels. Default null.
   */
  condition?: Tensor | null;
}

export class Context {
  readonly mode: 'train' | 'inference';
  readonly dropout: DropoutAddress | null;
  readonly cache: InferenceCache | null;
  readonly convolutions: Convolutions;
  /** The embedding [N, E] that conditions every resnet on the timestep (and the class), set by the model. */
  temb: Tensor | null = null;
  /** Its gradient [N, E]: the resnets add into it during backward. */
  dTemb: Tensor | null = null;
  /** One class label per sample of a class-conditional model, or null. */
  labels: Int32Array | null = null;
  /** The conditioning image [N, k, H, W] of a model conditioned by concatenation, or null (see PassOptions). */
  readonly condition: Tensor | null;
  /** U-Net skip connections: the tensor each one carries forward, and its gradient coming back (nn/skip.ts). */
  readonly skips = new Map<object, Tensor>();
  readonly skipGrads = new Map<object, Tensor>();
  private readonly saved = new Map<Owner, unknown>();

  constructor(options: PassOptions = {}) {
    const { mode = 'train', dropout = null, cache = null, condition = null, convolutions = 'direct' } = options;
    if (mode !== 'train' && mode !== 'inference') throw new Error(`forward: mode must be 'train' or 'inference', got ${String(mode)}`);
    checkConvolutions('forward', convolutions);
    if (convolutions === 'winograd' && mode !== 'inference') {
      throw new Error("forward: convolutions 'winograd' is for inference passes (mode 'inference'); a training pass keeps the layers' kernels");
    }
    this.mode = mode;
    this.condition = condition;
    this.dropout = dropout;
    this.cache = cache;
    this.convolutions = convolutions;
  }

  /** Whether modules may take their inference path (nothing saved, fused kernels). */
  get inference(): boolean {
    return this.mode === 'inference';
  }

  /** What `owner` prepares for the inference kernels: from the pass's cache, or made now for this pass alone. */
  prepared<T extends Prepared>(owner: Owner, make: () => T): T {
    return this.cache ? this.cache.get(owner, make) : make();
  }

  /** Keeps what `module`'s backward needs (in a training pass; an inference pass keeps nothing). */
  save<T>(module: Owner, value: T): void {
    if (this.mode === 'train') this.saved.set(module, value);
  }

  /** What `module` saved in this pass's forward. */
  restore<T>(module: Owner): T {
    if (!this.saved.has(module)) {
      throw new Error(`${module.name}: backward() needs a forward() in 'train' mode first (this pass ${this.mode === 'train' ? 'has not run it' : 'was an inference pass'})`);
    }
    return this.saved.get(module) as T;
  }

  /** The time embedding, or an error naming the module that needs it. */
  timeEmbedding(module: Owner): Tensor {
    if (this.temb === null) throw new Error(`${module.name}: needs the time embedding (ctx.temb), which the model sets before its blocks run`);
    return this.temb;
  }
}
