/**
 * The one base of every model (the denoisers and the noise-aware classifier): a config, a flat set of
 * parameters, and a forward/backward pair over a batch x [N, ...sampleShape] with one timestep (and, for
 * class-conditional models, one label) per item. The model keeps the context of its last training pass, so
 * `backward` follows `forward` as in a PyTorch training step; an inference pass keeps nothing.
 *
 * A subclass builds its modules from its config (declaring parameters in a fixed order: the order is the
 * flat layout, and the layout fixes the initial values), calls `params.allocate(seed)`, and implements
 * `forwardPass` and `backwardPass` over a Context (nn/context.ts).
 */
import type { Context } from '../nn/context.ts';
import { Context as PassContext, type PassOptions } from '../nn/context.ts';
import type { InputGrad } from '../nn/module.ts';
import { ParameterSet } from '../nn/parameters.ts';
import { Tensor } from '../tensor.ts';

/** The kinds of model a file can hold (the key of its config in a model file). */
export type ModelKind = 'mlp' | 'unet2d' | 'classifier';
/** One timestep per item: integers, or (for models that take them, e.g. a 'fourier' U-Net's noise levels) floats. */
export type Timesteps = Int32Array | Float32Array;
/** One class label per item (Int32Array), or class vectors (Float32Array) for a U-Net with class_embed_type 'identity'. */
export type ClassInput = Int32Array | Float32Array;

export abstract class Model<Config extends object = object> {
  abstract readonly kind: ModelKind;
  readonly params = new ParameterSet();
  private lastPass: Context | null = null;

  /**
   * @param config the resolved config (defaults filled in), as stored in model files
   * @param sampleShape the shape of one sample: [dim] for points, [C, H, W] for images
   * @param numClasses denoisers: the class labels they are conditioned on (0: unconditional; the null label is
   *   this number); the classifier: the classes it tells apart
   */
  protected constructor(readonly config: Config, readonly sampleShape: readonly number[], readonly numClasses: number) {}

  /** The shape of one item of the output: sampleShape, unless a model says otherwise (see Denoiser.outputShape). */
  get outputShape(): readonly number[] {
    return this.sampleShape;
  }

  /** The model's output for x [N, ...sampleShape] at the given timesteps (and class labels). */
  forward(x: Tensor, timesteps: Timesteps, classLabels?: ClassInput | null, options: PassOptions = {}): Tensor {
    this.checkInput(x, timesteps);
    const ctx = new PassContext(options);
    this.lastPass = null;
    const y = this.forwardPass(x, timesteps, classLabels ?? null, ctx);
    if (ctx.mode === 'train') this.lastPass = ctx;
    return y;
  }

  /**
   * Adds the gradients of the parameters into params.grads for the gradient dOut of the last training pass's
   * output, and returns the input's gradient (`dx` as in the backward ops: a Tensor to add into, null to skip).
   */
  backward(dOut: Tensor, dx?: InputGrad): Tensor | null {
    if (this.lastPass === null) throw new Error(`${this.constructor.name}: backward() needs a forward() in 'train' mode first`);
    return this.backwardPass(dOut, this.lastPass, dx);
  }

  protected abstract forwardPass(x: Tensor, timesteps: Timesteps, classLabels: ClassInput | null, ctx: Context): Tensor;
  protected abstract backwardPass(dOut: Tensor, ctx: Context, dx: InputGrad): Tensor | null;

  /** The labels a class-conditional denoiser needs: present exactly when it is conditional, one per item, in range. */
  protected conditioningLabels(batch: number, labels: ClassInput | null): Int32Array | null {
    const model = this.constructor.name, classes = this.numClasses;
    if (classes === 0) {
      if (labels) throw new Error(`${model}: this model is unconditional (numClassEmbeds is 0), but class labels were given`);
      return null;
    }
    if (!labels) throw new Error(`${model}: this model is class-conditional (${classes} classes): give one class label per sample`);
    if (!(labels instanceof Int32Array)) throw new Error(`${model}: class labels must be an Int32Array, got a ${labels.constructor.name}`);
    if (labels.length !== batch) throw new Error(`${model}: got ${labels.length} class labels for a batch of ${batch}`);
    return labels;
  }

  private checkInput(x: Tensor, timesteps: Timesteps): void {
    const model = this.constructor.name;
    const expected = [this.sampleShape.length + 1, ...this.sampleShape];
    if (!(x instanceof Tensor) || x.shape.length !== expected[0] || this.sampleShape.some((d, i) => x.shape[i + 1] !== d)) {
      throw new Error(`${model}: x must be [N, ${this.sampleShape.join(', ')}], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : typeof x}`);
    }
    if (!(timesteps instanceof Int32Array || timesteps instanceof Float32Array) || timesteps.length !== x.shape[0]) {
      throw new Error(`${model}: timesteps must be an Int32Array (or a Float32Array) with one timestep per sample (${x.shape[0]})`);
    }
  }
}
