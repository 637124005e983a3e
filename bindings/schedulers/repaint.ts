/**
 * RePaint (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion Probabilistic Models"), after
 * diffusers' RePaintScheduler: inpainting with an unconditionally trained model. At every step the known pixels
 * (mask 1) are the original image noised to the step's level, the unknown ones (mask 0) the model's reverse step
 * (Algorithm 1, lines 5-8):
 *
 *   x_known   = sqrt(ab_{t_prev}) x0_image + sqrt(1 - ab_{t_prev}) z
 *   x_unknown = sqrt(ab_{t_prev}) x0 + sqrt(1 - ab_{t_prev} - sigma_t²) eps + sigma_t z     (DDIM's eq. 12; eta = 1 is DDPM)
 *   x_{t_prev} = mask · x_known + (1 - mask) · x_unknown
 *
 * with one noise z for both parts, as diffusers does. To harmonise the two parts, the schedule jumps back up
 * every `jumpLength` steps, `jumpNSample - 1` times (the resampling of section 4.2, figure 9): `timesteps` then
 * goes up again, and at those entries `undoStep` re-noises the sample with the forward process (line 10):
 * x <- sqrt(1 - beta) x + sqrt(beta) z, once per training timestep of the jump. A pipeline's loop tells the two
 * apart as diffusers' RePaintPipeline does: an entry not below the previous one is an undo step.
 *
 *   const s = new RePaintScheduler({ eta: 1 });
 *   s.setTimesteps(250, 10, 10);
 *   let last = s.timesteps[0] + 1;
 *   for (const t of s.timesteps) {
 *     x = t < last ? s.step(model(x, t), t, x, { originalImage, mask }).prevSample : s.undoStep(x, last);
 *     last = t;
 *   }
 *
 * Beyond diffusers (whose RePaint reads the model output as eps only): every predictionType, through the
 * library's x0 and eps conversions. The noise is addressed by the entry's index in `timesteps` (steps: blocks of
 * STREAMS.samplerNoise; undo steps: blocks of STREAMS.repaintUndoNoise, one per training timestep re-noised), so
 * that a sample depends on its seed and its index only; `step` and `undoStep` must follow `timesteps` in order.
 */
import { add, fill, mul, sub } from '../ops/elementwise.ts';
import { sameShape, tensorArg } from '../ops/check.ts';
import { schedulerCombine, schedulerStep } from '../ops/scheduler.ts';
import { STREAMS } from '../random-streams.ts';
import { Tensor } from '../tensor.ts';
import { NoiseScheduler, type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
import { SCHEDULER_DEFAULTS, show, type SchedulerOptions } from './options.ts';

export interface RePaintSchedulerOptions extends SchedulerOptions {
  /**
   * The weight of each step's fresh noise in the unknown part, eta >= 0: 0 is DDIM-like (deterministic but for
   * the known part's noise and the undo steps), 1 the DDPM posterior variance of RePaint's paper. Default 0
   * (diffusers'). A step's `{ eta }` option overrides it.
   */
  eta?: number;
}

/** The options of `RePaintScheduler.step`. */
export interface RePaintStepOptions extends StepNoiseOptions {
  /** The image to inpaint (the shape of `sample`), in the model's range [-1, 1]. Required. */
  originalImage?: Tensor;
  /** 1 where `originalImage` is kept, 0 where the model paints (the shape of `sample`). Required. */
  mask?: Tensor;
  /** Overrides the scheduler's eta for this step. */
  eta?: number;
}

/** The options of `undoStep`: its noise, one tensor per training timestep re-noised (T / numInferenceSteps), or the seed. */
export interface RePaintUndoOptions {
  noise?: readonly Tensor[];
  seed?: number;
}

const DEFAULTS: Required<RePaintSchedulerOptions> = { ...SCHEDULER_DEFAULTS, eta: 0 };
const STEP_OPTIONS = ['originalImage', 'mask', 'eta', 'noise', 'seed'] as const;
/** Noise blocks per stream that offsets below 2^53 can address (see SAMPLER_NOISE_STRIDE). */
const MAX_NOISE_BLOCKS = 2 ** 17;

export class RePaintScheduler extends NoiseScheduler<RePaintSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' RePaint step draws its noise at every step (the known part needs it even where sigma_t is 0). */
  override drawsNoise(): boolean { return true; }
  /** Every option with its default (diffusers' RePaintScheduler defaults, plus the library's common options). */
  static readonly defaults: Readonly<Required<RePaintSchedulerOptions>> = DEFAULTS;
  /** The jump length and count `setTimesteps` was called with. */
  jumpLength = 10;
  jumpNSample = 10;
  /** The index in `timesteps` of the entry `step` or `undoStep` expects next. */
  private entry = 0;

  /** A RePaint scheduler; every option is documented on `RePaintSchedulerOptions`. */
  constructor(options: RePaintSchedulerOptions = {}) {
    super('RePaintScheduler', options, DEFAULTS);
    const { eta, timestepSpacing, stepsOffset } = this.config;
    checkEta(this.name, 'eta', eta);
    // RePaint's timesteps are multiples of T // numInferenceSteps from 0: diffusers' RePaint has neither option.
    if (timestepSpacing !== 'leading' || stepsOffset !== 0) {
      throw new Error(`${this.name}: timestepSpacing must be 'leading' and stepsOffset 0 (RePaint's timesteps are k · (T // numInferenceSteps)), ` +
        `got ${show(timestepSpacing)} and ${stepsOffset}`);
    }
  }

  /** The training timesteps one undo step re-noises: T // numInferenceSteps. */
  get jumpStride(): number {
    return Math.floor(this.config.numTrainTimesteps / this.requireInferenceSteps(`${this.name}.jumpStride`));
  }

  /**
   * RePaint's schedule (diffusers' set_timesteps): k = n-1 down to 0, and after each k = 0, jumpLength,
   * 2·jumpLength, ... below n - jumpLength, jumpNSample - 1 times, back up jumpLength steps first; every k times
   * T // n. `jumpLength` and `jumpNSample` are integers >= 1 (defaults 10 and 10; jumpNSample 1 means no jumps).
   */
  override setTimesteps(numInferenceSteps: number, jumpLength = 10, jumpNSample = 10): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    for (const [name, value] of [['jumpLength', jumpLength], ['jumpNSample', jumpNSample]] as const) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new Error(`${op}: ${name} must be an integer >= 1, got ${show(value)}`);
    }
    const jumps = new Map<number, number>();
    for (let j = 0; j < n - jumpLength; j += jumpLength) jumps.set(j, jumpNSample - 1);
    const ks: number[] = [];
    for (let k = n; k >= 1;) {
      k -= 1;
      ks.push(k);
      const left = jumps.get(k) ?? 0;
      if (left > 0) {
        jumps.set(k, left - 1);
        for (let i = 0; i < jumpLength; i++) ks.push(++k);
      }
    }
    const ratio = Math.floor(this.config.numTrainTimesteps / n);
    if (ks.length * ratio > MAX_NOISE_BLOCKS) {
      throw new Error(`${op}: ${ks.length} entries of ${ratio} timesteps each need more than 2^17 noise blocks: ` +
        `lower jumpNSample (${jumpNSample}) or numInferenceSteps (${n}), or raise jumpLength (${jumpLength})`);
    }
    this.timesteps = Int32Array.from(ks, (k) => k * ratio);
    this.numInferenceSteps = n;
    this.jumpLength = jumpLength;
    this.jumpNSample = jumpNSample;
    this.entry = 0;
  }

  override reset(): void {
    this.entry = 0;
  }

  /** sigma_t² / eta² between t and t - T // n (DDIM's eq. 16; ab_{t_prev} = 1 before timestep 0). */
  getVariance(timestep: number): number {
    const t = this.checkTimestep(`${this.name}.getVariance`, timestep);
    const abT = this.alphasCumprod[t], abPrev = this.abAt(t - this.jumpStride);
    return (1 - abPrev) / (1 - abT) * (1 - abT / abPrev);
  }

  /**
   * One RePaint step from x_t (`sample`) to x_{t_prev} (see the file header), given the model output at t and,
   * in the options, the original image and the mask. Returns the previous sample and the predicted x0 (clipped
   * when clipSample).
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: RePaintStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const shape = tensorArg(op, 'sample', sample);
    sameShape(op, 'sample', shape, 'modelOutput', tensorArg(op, 'modelOutput', modelOutput));
    for (const key of ['originalImage', 'mask'] as const) {
      if (options[key] === undefined) throw new Error(`${op}: options.${key} is required (the image to inpaint and its mask, the shape of sample)`);
      sameShape(op, 'sample', shape, `options.${key}`, tensorArg(op, `options.${key}`, options[key]));
    }
    const eta = options.eta ?? this.config.eta;
    checkEta(op, 'options.eta', eta);
    const t = this.checkTimestep(op, timestep);
    const k = this.expectEntry(op, t, 'step');
    // 1. ab_t, ab_{t_prev}; x0 and eps from the model output.
    const abT = this.alphasCumprod[t], abPrev = this.abAt(t - this.jumpStride);
    const x0 = this.originalSampleCoefficients(abT), eps = this.epsilonCoefficients(abT);
    // 2. One noise for both parts; sigma_t only where t > 0 and eta > 0, but the direction always uses std² (diffusers).
    const noise = this.stepNoise(op, sample, k, options);
    const std = eta * Math.sqrt(this.getVariance(t));
    const direction = 1 - abPrev - std * std;
    if (direction < 0) throw new Error(`${op}: eta ${eta} is too large at timestep ${t}: sigma_t² = ${std * std} exceeds 1 - ab_{t_prev} = ${1 - abPrev}`);
    const sigma = t > 0 && eta > 0 ? std : 0;
    // 3. The unknown part: DDIM's update (eq. 12); the known part: the image noised to t_prev (Algorithm 1, line 5).
    const unknown = schedulerStep(sample, modelOutput, {
      a: x0.onSample, b: x0.onOutput, c: eps.onSample, d: eps.onOutput, e: 0,
      f: Math.sqrt(abPrev), g: 0, h: Math.sqrt(direction), sigma, clipRange: this.clipRange,
    }, sigma > 0 ? noise : null);
    const known = schedulerCombine([[options.originalImage!, Math.sqrt(abPrev)], [noise, Math.sqrt(1 - abPrev)]]);
    // 4. mask · known + (1 - mask) · unknown (line 8), in diffusers' order of float32 operations.
    const ones = fill(new Tensor(shape), 1);
    const keepMask = sub(ones, options.mask!);
    const keptPart = mul(options.mask!, known), paintedPart = mul(keepMask, unknown.prevSample);
    const prevSample = add(keptPart, paintedPart);
    for (const t of [unknown.prevSample, known, ones, keepMask, keptPart, paintedPart]) t.dispose();
    if (noise !== options.noise) noise.dispose();
    this.entry = k + 1;
    return { prevSample, predOriginalSample: unknown.predOriginalSample };
  }

  /**
   * The jump back up (Algorithm 1, line 10) at an entry where `timesteps` rises: T // n forward steps
   * x <- sqrt(1 - beta_s) x + sqrt(beta_s) z for s = timestep, timestep + 1, ..., where `timestep` is the entry
   * before (diffusers' undo_step(sample, t_last)). Returns a new tensor.
   */
  undoStep(sample: Tensor, timestep: number, options: RePaintUndoOptions = {}): Tensor {
    const op = `${this.name}.undoStep`;
    this.checkStepOptions(op, options, ['noise', 'seed']);
    tensorArg(op, 'sample', sample);
    const t = this.checkTimestep(op, timestep);
    const k = this.expectEntry(op, t, 'undo');
    const r = this.jumpStride;
    if (t + r > this.config.numTrainTimesteps) throw new Error(`${op}: timestep ${t} + ${r} runs past the last training timestep`);
    if (options.noise !== undefined && (!Array.isArray(options.noise) || options.noise.length !== r)) {
      throw new Error(`${op}: options.noise must be an array of ${r} tensors (one per training timestep re-noised), got ${show(options.noise)}`);
    }
    let x = sample;
    for (let i = 0; i < r; i++) {
      const beta = this.betas[t + i];
      const z = options.noise !== undefined
        ? options.noise[i]
        : this.stepNoise(op, sample, k * r + i, { seed: options.seed }, STREAMS.repaintUndoNoise);
      const next = schedulerCombine([[x, Math.sqrt(1 - beta)], [z, Math.sqrt(beta)]]);
      if (x !== sample) x.dispose();
      if (options.noise === undefined) z.dispose();
      x = next;
    }
    this.entry = k + 1;
    return x;
  }

  private abAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t] : 1;
  }

  /**
   * Checks that a step (`kind` 'step', at timestep t) or an undo step ('undo', from timestep t) is the entry due
   * next, and returns its index in `timesteps`.
   */
  private expectEntry(op: string, t: number, kind: 'step' | 'undo'): number {
    const n = this.requireInferenceSteps(op);
    const k = this.entry;
    if (k >= this.timesteps.length) throw new Error(`${op}: all ${this.timesteps.length} entries are done: call setTimesteps to sample again`);
    const due = this.timesteps[k], before = k > 0 ? this.timesteps[k - 1] : Infinity;
    const undoDue = due >= before;
    if (kind === 'step' && (undoDue || due !== t)) {
      throw new Error(`${op}: entry ${k} of the RePaint schedule (${n} steps) is ${undoDue ? `an undo step from ${before}` : `a step at ${due}`}, ` +
        `not a step at ${t}: steps must follow \`timesteps\` in order; call setTimesteps to start again`);
    }
    if (kind === 'undo' && (!undoDue || before !== t)) {
      throw new Error(`${op}: entry ${k} of the RePaint schedule (${n} steps) is ${undoDue ? `an undo step from ${before}` : `a step at ${due}`}, ` +
        `not an undo step from ${t}: steps must follow \`timesteps\` in order; call setTimesteps to start again`);
    }
    return k;
  }

  private requireInferenceSteps(op: string): number {
    if (this.numInferenceSteps === null) {
      throw new Error(`${op}: the number of inference steps is not set: call setTimesteps(numInferenceSteps) first`);
    }
    return this.numInferenceSteps;
  }
}

function checkEta(name: string, key: string, eta: unknown): void {
  if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) throw new Error(`${name}: ${key} must be a finite number >= 0, got ${show(eta)}`);
}
