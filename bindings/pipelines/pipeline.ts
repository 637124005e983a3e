/**
 * Sampling (Ho et al. 2020, Algorithm 2; Song et al. 2021 for DDIM; the ODE solvers after diffusers): start from
 * x_T ~ N(0, initNoiseSigma² I) (or the caller's latents) and apply the scheduler's step along its timesteps,
 * asking the model at every step for its prediction on scaleModelInput(x_t) at the scheduler's model timestep.
 * Any scheduler of the library serves: DDPM, DDIM, DPM-Solver, UniPC, Euler, Euler ancestral, Heun, and the
 * score-SDE predictor-corrector and probability-flow samplers (which call the model more than once per timestep:
 * their `timesteps` list every call). The same loop edits images:
 *
 * - img2img / SDEdit (Meng et al. 2022; diffusers' StableDiffusionImg2ImgPipeline): `image` and `strength` start
 *   the loop part-way, at the scheduler's addNoise of the image (pipelines/editing.ts), with any scheduler but the
 *   score-SDE ones (whose call plan runs whole);
 * - inpainting (RePaint, Lugmayr et al. 2022; diffusers' RePaintPipeline): with a RePaintScheduler, `image` and
 *   `maskImage` are handed to every step, and the entries where its timesteps rise are its undo steps;
 * - DDIM inversion (`invert`): the same loop with a DDIMInverseScheduler, from an image to its latent x_T.
 *
 * Guidance:
 * - classifier-free (Ho & Salimans 2022): the model is run with the class labels and with the null label, and
 *   its prediction is out_uncond + guidanceScale * (out_cond - out_uncond) (1 = plain conditional sampling);
 * - classifier guidance (Dhariwal & Nichol 2021): a noise-aware classifier's gradient g = ∇x log p(y | x_t, t)
 *   shifts the predicted noise: eps' = eps - classifierScale * sqrt(1 - ab_t) * g (their Algorithm 2, which
 *   serves DDPM and DDIM alike); a model predicting v or x0 gets the same shift, converted to its output.
 *
 * Randomness (pipelines/noise.ts): by default x_T (and img2img's noise) is `randn` of (seed, STREAMS.initialNoise)
 * with item n at numbers n*M .. n*M + M - 1, and each step's noise comes from the scheduler at (seed, its block);
 * so a sample depends on its seed and its index alone, not on the batch size; with `firstSample` = k, item n
 * takes the numbers of item k + n, so a large run can be sampled in batches of bounded memory and give the same
 * samples as one batch. With generator 'torch' the noise is PyTorch's, drawn as diffusers draws it, to replay a
 * diffusers run.
 *
 * A model that predicts its variance (improved DDPM's learned variance: outputs of 2C channels) samples with
 * DDPMScheduler, whose learned varianceType uses it (respaced for strided steps), or with a deterministic sampler,
 * which needs only the prediction (DDIM with eta 0 and the ODE solvers: the variance channels are dropped, as
 * improved-diffusion's DDIM does). A sampler that adds noise of its own fixed variance would ignore what the model
 * learned: that is an error. Guidance shifts the prediction; the variance is the conditional pass's (as GLIDE).
 *
 * On failure (a bad option found by the scheduler, an error in onStep, out of memory) everything the call
 * allocated is freed before the error propagates, so the next call starts from the same memory.
 */
import { predictsVariance, type Denoiser } from '../models/denoiser.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { composedGuidedForward, guidedForward } from '../models/guidance.ts';
import { InferenceCache } from '../nn/inference-cache.ts';
import { addInPlace, concatChannels, concatChannelsBackward } from '../ops/elementwise.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import type {
  DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
  HeunDiscreteScheduler, UniPCMultistepScheduler,
} from '../schedulers/index.ts';
import type { DDIMInverseScheduler } from '../schedulers/ddim-inverse.ts';
import type { RePaintScheduler } from '../schedulers/repaint.ts';
import type { ScoreSdeODEScheduler } from '../schedulers/score-sde-ode.ts';
import type { ScoreSdePCScheduler } from '../schedulers/score-sde-pc.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { checkFirstSample } from './batch-noise.ts';
import type { batchImage } from './editing.ts';
import type { InvertOptions } from './invert-options.ts';
import { philoxNoise, torchNoise, type NoiseSource } from './noise.ts';
import { editsImages, resolveGenerateOptions, type GenerateOptions, type ResolvedGenerateOptions, type StepInfo } from './options.ts';
import { isRePaint, isSigmaScheduler } from './scheduler-kinds.ts';

export type { GenerateOptions, StepInfo } from './options.ts';
export type { InvertOptions } from './invert-options.ts';

/** The schedulers a pipeline can sample with (RePaintScheduler: inpainting only). */
export type PipelineScheduler = DDPMScheduler | DDIMScheduler | DPMSolverMultistepScheduler | UniPCMultistepScheduler |
  EulerDiscreteScheduler | EulerAncestralDiscreteScheduler | HeunDiscreteScheduler | ScoreSdePCScheduler | ScoreSdeODEScheduler |
  RePaintScheduler;

/** Any scheduler the loop runs: the pipeline's, or the inverse scheduler of `invert`. */
type LoopScheduler = PipelineScheduler | DDIMInverseScheduler;

export interface PipelineComponents<S extends PipelineScheduler = PipelineScheduler> {
  model: Denoiser;
  scheduler: S;
}

/** One run of the loop: its scheduler, the entries of its timesteps to visit, x at the first, and the step's extra options. */
interface Run {
  scheduler: LoopScheduler;
  timesteps: ArrayLike<number>;
  start: Tensor;
  extra: Record<string, Tensor>;
}

/** Sampling with any scheduler (see `PipelineScheduler`); `DDPMPipeline` and `DDIMPipeline` name two of them. */
export class DiffusionPipeline<S extends PipelineScheduler = PipelineScheduler> {
  readonly model: Denoiser;
  readonly scheduler: S;
  /** numInferenceSteps when the caller gives none. */
  readonly defaultSteps: number;

  /** @param defaultSteps numInferenceSteps when the caller gives none: default, the scheduler's defaultInferenceSteps */
  constructor({ model, scheduler }: PipelineComponents<S>, defaultSteps?: number) {
    this.model = model;
    this.scheduler = scheduler;
    this.defaultSteps = defaultSteps ?? scheduler.defaultInferenceSteps;
  }

  /**
   * Samples `batchSize` items: a Tensor [batchSize, ...model.sampleShape] (the caller disposes it). With `image`
   * and `strength`, img2img; with `image` and `maskImage` (a RePaintScheduler), inpainting (see GenerateOptions).
   */
  async generate(options: GenerateOptions = {}): Promise<Tensor> {
    const name = `${this.constructor.name}.generate`;
    // Editing's checks and helpers are loaded only for a call that edits: sampling alone loads none of them.
    const editing = editsImages(options, this.scheduler) ? await import('./editing.ts') : null;
    const o = resolveGenerateOptions(name, options, this, editing?.checkEditing ?? null);
    const { scheduler } = this;
    const noise = await this.noiseSource(o);
    const shape = [o.batchSize, ...this.model.sampleShape];
    scheduler.firstSample = o.firstSample;
    const extra: Record<string, Tensor> = {};
    try {
      if (isRePaint(scheduler)) scheduler.setTimesteps(o.numInferenceSteps, o.jumpLength, o.jumpNSample);
      else scheduler.setTimesteps(o.numInferenceSteps);
      this.checkVariance(name, o, scheduler);
      if (editing && o.image && o.maskImage) {
        extra.originalImage = keep(editing.batchImage(o.image, o.batchSize));
        extra.mask = keep(editing.batchMask(o.maskImage, o.batchSize, this.model.sampleShape));
      }
      const img2img = editing && o.image !== null && o.maskImage === null ? editing : null;
      let timesteps: ArrayLike<number> = scheduler.timesteps;
      if (img2img) {
        const { begin } = img2img.img2imgStart(name, o.numInferenceSteps, o.strength, scheduler.order);
        timesteps = scheduler.timesteps.subarray(begin);
        if (isSigmaScheduler(scheduler)) scheduler.setBeginIndex(begin);
      }
      const start = img2img ? this.noisedImage(o, noise, shape, timesteps[0], img2img.batchImage) : this.initialNoise(o, noise, shape);
      return await this.run({ scheduler, timesteps, start, extra }, o, noise);
    } finally {
      scheduler.reset();
      scheduler.firstSample = 0;
      for (const tensor of Object.values(extra)) tensor.dispose();
    }
  }

  /**
   * DDIM inversion: the latents x_T [N, ...model.sampleShape] from which DDIM sampling (eta 0) with the same
   * steps, labels and guidance draws `image` [N, ...] back (the caller disposes them). The inverse scheduler is
   * DDIMInverseScheduler.fromConfig of the pipeline's scheduler config unless one is given.
   */
  async invert(options: InvertOptions): Promise<Tensor> {
    const name = `${this.constructor.name}.invert`;
    // Loaded on first use: sampling alone loads neither the inverse scheduler nor editing's helpers.
    const [{ resolveInvertOptions }, { batchImage }] = await Promise.all([import('./invert-options.ts'), import('./editing.ts')]);
    const { o, image, inverse } = resolveInvertOptions(name, options, this);
    inverse.setTimesteps(o.numInferenceSteps);
    this.checkVariance(name, o, inverse);
    const start = keep(batchImage(image, o.batchSize));
    return this.run({ scheduler: inverse, timesteps: inverse.timesteps, start, extra: {} }, o, await this.noiseSource(o));
  }

  /**
   * The initial noise `generate` draws before scaling it by initNoiseSigma (diffusers' prepare_latents), with the
   * library's generator: samples firstSample .. firstSample + batchSize - 1 of `seed`, [batchSize,
   * ...model.sampleShape]; a new tensor. Defaults: batchSize 1, seed 0, firstSample 0.
   */
  prepareLatents({ batchSize = 1, seed = 0, firstSample = 0 }: { batchSize?: number; seed?: number; firstSample?: number } = {}): Tensor {
    const name = `${this.constructor.name}.prepareLatents`;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${name}: batchSize must be a positive integer, got ${batchSize}`);
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) throw new Error(`${name}: seed must be a non-negative safe integer, got ${String(seed)}`);
    checkFirstSample(name, firstSample, batchSize, this.model.sampleShape);
    return philoxNoise(seed, firstSample).initial([batchSize, ...this.model.sampleShape]);
  }

  private async noiseSource(o: ResolvedGenerateOptions): Promise<NoiseSource> {
    return o.generator === 'torch' ? torchNoise(o.seeds ?? o.seed, o.torchCapability) : philoxNoise(o.seed as number, o.firstSample);
  }

  /**
   * The loop: every entry of `run.timesteps` is a denoising step (the model, then the scheduler's step), or,
   * where a RePaintScheduler's timesteps do not fall, an undo step. `run.start` becomes the loop's (freed as it
   * is replaced, or on failure); returns the final sample.
   */
  private async run({ scheduler, timesteps, start, extra }: Run, o: ResolvedGenerateOptions, noise: NoiseSource): Promise<Tensor> {
    const repaint = isRePaint(scheduler) ? scheduler : null;
    const step = scheduler.step.bind(scheduler) as (output: Tensor, t: number, x: Tensor, options: object) => ReturnType<DDIMScheduler['step']>;
    const stepOptions = { ...this.stepOptions(o, scheduler), ...extra };
    const total = denoisingSteps(timesteps, repaint !== null);
    // The weights do not change during the run: the inference kernels' packed weights are prepared once.
    const cache = new InferenceCache();
    let x = start;
    try {
      let last = timesteps[0] + 1;
      for (let entry = 0, index = 0; entry < timesteps.length; entry++) {
        const t = timesteps[entry];
        const current: Tensor = x;
        if (repaint && t >= last) {
          x = tidy(() => repaint.undoStep(current, last, this.undoOptions(o, noise, current.shape, repaint.jumpStride)));
          current.dispose();
          last = t;
          continue;
        }
        let info: StepInfo | null = null;
        const next = tidy(() => {
          const output = this.predict(scheduler, scheduler.scaleModelInput(current, t), t, o, cache);
          const stepNoise = noise.step(current.shape, scheduler.drawsNoise(t, stepOptions));
          const { prevSample, predOriginalSample } = step(output, t, current, stepNoise ? { ...stepOptions, noise: stepNoise } : stepOptions);
          info = { index, total, timestep: t, sample: prevSample, predOriginalSample };
          return { prevSample, predOriginalSample };
        });
        try {
          if (o.onStep) await o.onStep(info!);
        } catch (error) {
          next.prevSample.dispose();
          throw error;
        } finally {
          next.predOriginalSample.dispose();
        }
        current.dispose();
        x = next.prevSample;
        last = t;
        index++;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return x;
    } catch (error) {
      x.dispose();
      if (!(error instanceof OutOfMemoryError)) throw error;
      throw error.withHint(`${this.constructor.name}.generate (batchSize ${o.batchSize})`,
        'lower batchSize: batches with firstSample give the same samples as one large batch');
    } finally {
      cache.dispose();
    }
  }

  /** x_T: the caller's latents or the noise source's, times initNoiseSigma (a new tensor). */
  private initialNoise(o: ResolvedGenerateOptions, source: NoiseSource, shape: number[]): Tensor {
    const sigma = this.scheduler.initNoiseSigma;
    return keep(tidy(() => {
      const noise = o.latents ?? source.initial(shape);
      return sigma === 1 && !o.latents ? noise : schedulerCombine([[noise, sigma]]);
    }));
  }

  /** img2img's start: the image noised to the first timestep by the scheduler's addNoise (a new tensor). */
  private noisedImage(o: ResolvedGenerateOptions, source: NoiseSource, shape: number[], first: number, batch: typeof batchImage): Tensor {
    return keep(tidy(() => this.scheduler.addNoise(batch(o.image!, o.batchSize), source.initial(shape), new Array(o.batchSize).fill(first))));
  }

  /**
   * A model that predicts its variance needs a scheduler that uses it or a deterministic one; a scheduler that
   * uses one needs such a model (see the file header).
   */
  private checkVariance(name: string, o: ResolvedGenerateOptions, scheduler: LoopScheduler): void {
    const { model } = this;
    const learned = predictsVariance(model), used = scheduler.predictsVariance;
    const schedulerName = scheduler.constructor.name;
    if (used && !learned) {
      throw new Error(`${name}: ${schedulerName}'s varianceType '${(scheduler.config as { varianceType?: string }).varianceType}' takes the variance from the model, ` +
        `but this model predicts none (its output has the sample's ${model.sampleShape[0]} channels): use 'fixed_small' or 'fixed_large'`);
    }
    if (!learned || used) return;
    const stepOptions = this.stepOptions(o, scheduler);
    if (Array.from(scheduler.timesteps).some((t) => scheduler.drawsNoise(t, stepOptions))) {
      throw new Error(`${name}: a learned-variance model sampled with a scheduler that ignores variance: ${schedulerName}` +
        `${schedulerName === 'DDIMScheduler' ? ` with eta ${o.eta}` : ''} adds noise of its own fixed variance; use DDPMScheduler with ` +
        "varianceType 'learned_range' (as the model file says), or a deterministic sampler (DDIM with eta 0, DPM-Solver++, UniPC, Euler, Heun)");
    }
  }

  /** The options of the scheduler's step that it takes: the seed of its noise, and DDIM's eta and clipped eps. */
  private stepOptions(o: ResolvedGenerateOptions, scheduler: LoopScheduler): Record<string, unknown> {
    const offered = { ...(o.generator === 'philox' && { seed: o.seed }), eta: o.eta, useClippedModelOutput: o.useClippedModelOutput };
    return Object.fromEntries(Object.entries(offered).filter(([key]) => scheduler.stepOptionNames.includes(key)));
  }

  /** An undo step's noise: PyTorch's draws (one per re-noised timestep), or the seed for the scheduler's own. */
  private undoOptions(o: ResolvedGenerateOptions, source: NoiseSource, shape: readonly number[], count: number): { noise?: Tensor[]; seed?: number } {
    if (o.generator === 'philox') return { seed: o.seed as number };
    return { noise: Array.from({ length: count }, () => source.step(shape, true)!) };
  }

  /**
   * The model's prediction at (inference) timestep t for its input x (already scaled by the scheduler), with
   * classifier-free and classifier guidance applied.
   */
  private predict(scheduler: LoopScheduler, x: Tensor, t: number, o: ResolvedGenerateOptions, cache: InferenceCache): Tensor {
    const { model } = this;
    const N = o.batchSize;
    const modelTimestep = scheduler.modelTimestep(t);
    const timesteps = new Int32Array(N).fill(modelTimestep);
    // The labels may be the classifier's alone (classifier guidance of an unconditional model).
    const labels = model.numClasses > 0 ? o.classLabels : null;
    const learned = predictsVariance(model);
    const pass = { mode: 'inference' as const, cache, condition: o.condition, convolutions: o.convolutions };
    const output = !labels ? model.forward(x, timesteps, null, pass)
      : Array.isArray(o.guidanceScale) ? composedGuidedForward(model, x, timesteps, labels, o.guidanceScale, pass)
        : guidedForward(model, x, timesteps, labels, o.guidanceScale as number, pass, learned ? model.sampleShape[0] : undefined);
    // The prediction, and the variance the scheduler takes (if any).
    const { da: prediction, db: variance } = learned ? concatChannelsBackward(output, model.sampleShape[0]) : { da: output, db: null };
    if (o.classifier) {
      const ab = scheduler.alphaCumprodAt(t);
      const gradient = o.classifier.logProbabilityGradient(x, timesteps, o.classLabels!);
      addInPlace(prediction, gradient, -o.classifierScale * Math.sqrt(1 - ab) * scheduler.outputPerEpsilon(t));
    }
    return variance && scheduler.predictsVariance ? concatChannels(prediction, variance) : prediction;
  }
}

/** How many entries of `timesteps` are denoising steps: all, or, for RePaint, those below the entry before. */
function denoisingSteps(timesteps: ArrayLike<number>, repaint: boolean): number {
  if (!repaint) return timesteps.length;
  let count = 0;
  for (let k = 0; k < timesteps.length; k++) if (k === 0 || timesteps[k] < timesteps[k - 1]) count++;
  return count;
}

/** ∇x log p(y | x, t) of a noise-aware classifier (its `logProbabilityGradient`): what classifier guidance follows. */
export function classifierGradient(classifier: NoiseAwareClassifier, x: Tensor, timesteps: Int32Array, labels: Int32Array): Tensor {
  return classifier.logProbabilityGradient(x, timesteps, labels);
}
