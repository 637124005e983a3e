/**
 * DPM-Solver and DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver" and "DPM-Solver++"), after diffusers'
 * DPMSolverMultistepScheduler. The diffusion ODE is solved in lambda = log(alpha_t / sigma_t): with
 * h = lambda_t - lambda_s, DPM-Solver++ (data prediction, x0) takes
 *
 *   first order (DDIM):  x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{-h} - 1) x0_s                (++ eq. 5)
 *   second order (2M):   the same plus a finite difference D1 = (x0_s0 - x0_s1) / r0, r0 = h_0 / h    (++ Alg. 2)
 *   third order (3M):    D1 and D2 from three outputs                                               (DPM-Solver eq. 3.x)
 *
 * DPM-Solver (noise prediction) is the same in e^{h} and eps, and SDE-DPM-Solver++ adds noise:
 * x_t = (sigma_t / sigma_s) e^{-h} x_s + alpha_t (1 - e^{-2h}) x0 + sigma_t sqrt(1 - e^{-2h}) z.
 * Every update is a float64 linear combination of the sample, the last solverOrder converted outputs and the
 * noise, computed in one `schedulerCombine`. Its sigmas are the training ones at the timesteps, or Karras et al.'s
 * (useKarrasSigmas), ending at 0 ('zero') or at the first training sigma ('sigma_min').
 *
 *   const s = new DPMSolverMultistepScheduler({ useKarrasSigmas: true });
 *   s.setTimesteps(10);
 *   for (const t of s.timesteps) x = s.step(model(x, s.modelTimestep(t)), t, x).prevSample;
 */
import { exp, log } from '../ops/math.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import { keep, type Tensor } from '../tensor.ts';
import { type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
import {
  BASE_DEFAULTS, choice, THRESHOLDING_DEFAULTS,
  type BaseSchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './options.ts';
import { keptCopy, SigmaScheduler } from './sigma-scheduler.ts';
import { alphaSigmaOf, interpolate, karrasSigmas, sigmasOf, sigmaToTimestep } from './sigmas.ts';
import { roundHalfEven, solverTimesteps } from './timesteps.ts';

/** `'dpmsolver++'` (data prediction, recommended), `'dpmsolver'` (noise prediction), `'sde-dpmsolver++'` (stochastic). */
export type DPMSolverAlgorithmType = 'dpmsolver++' | 'dpmsolver' | 'sde-dpmsolver++';
/** The second-order update: `'midpoint'` (diffusers' default) or `'heun'`. */
export type DPMSolverType = 'midpoint' | 'heun';
/** The sigma after the last step: `'zero'` (a clean sample) or `'sigma_min'` (the first training sigma). */
export type FinalSigmasType = 'zero' | 'sigma_min';

export const DPM_ALGORITHM_TYPES: readonly DPMSolverAlgorithmType[] = ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver++'];

export interface DPMSolverMultistepSchedulerOptions extends BaseSchedulerOptions, ThresholdingOptions, ZeroSnrOptions {
  /** 1, 2 or 3: how many model outputs each update uses (2 for guided sampling, 3 unguided). Default 2. */
  solverOrder?: number;
  /** See `DPMSolverAlgorithmType`. Default `'dpmsolver++'`. */
  algorithmType?: DPMSolverAlgorithmType;
  /** See `DPMSolverType`. Default `'midpoint'`. */
  solverType?: DPMSolverType;
  /** Use lower orders for the last steps when there are fewer than 15 (stabler at 10 steps or fewer). Default true. */
  lowerOrderFinal?: boolean;
  /** Use a first-order step at the end whatever the number of steps. Default false. */
  eulerAtFinal?: boolean;
  /** Karras et al.'s noise levels (rho = 7) instead of the training sigmas at evenly spaced timesteps. Default false. */
  useKarrasSigmas?: boolean;
  /** See `FinalSigmasType` ('zero' needs a data-prediction algorithm). Default `'zero'`. */
  finalSigmasType?: FinalSigmasType;
}

/** The options of `step`: the noise of the SDE variant, or the seed to draw it from. */
export type DPMSolverStepOptions = StepNoiseOptions;

const DEFAULTS: Required<DPMSolverMultistepSchedulerOptions> = {
  ...BASE_DEFAULTS, timestepSpacing: 'linspace', solverOrder: 2, ...THRESHOLDING_DEFAULTS, algorithmType: 'dpmsolver++',
  solverType: 'midpoint', lowerOrderFinal: true, eulerAtFinal: false, useKarrasSigmas: false, finalSigmasType: 'zero',
  rescaleBetasZeroSnr: false,
};
const STEP_OPTIONS = ['noise', 'seed'] as const;

/** Coefficients on [m0, m1, m2] (the newest converted output first). */
type Vec = [number, number, number];
const axpy = (a: number, x: Vec, y: Vec): Vec => [a * x[0] + y[0], a * x[1] + y[1], a * x[2] + y[2]];

export class DPMSolverMultistepScheduler extends SigmaScheduler<DPMSolverMultistepSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' DPM-Solver step draws noise at every step of the SDE variant. */
  override drawsNoise(): boolean { return this.config.algorithmType === 'sde-dpmsolver++'; }
  /** Every option with its default (diffusers' DPMSolverMultistepScheduler defaults). */
  static readonly defaults: Readonly<Required<DPMSolverMultistepSchedulerOptions>> = DEFAULTS;
  /** The converted outputs of the last steps (x0 for the ++ variants, eps for 'dpmsolver'), oldest first. */
  private outputs: Tensor[] = [];
  /** How many steps have been taken, up to solverOrder (diffusers' lower_order_nums). */
  private lowerOrderNums = 0;

  /** A DPM-Solver multistep scheduler; every option is documented on `DPMSolverMultistepSchedulerOptions`. */
  constructor(options: DPMSolverMultistepSchedulerOptions = {}) {
    super('DPMSolverMultistepScheduler', options, DEFAULTS);
    const { algorithmType, solverOrder, finalSigmasType } = this.config;
    choice(this.name, 'algorithmType', algorithmType, DPM_ALGORITHM_TYPES);
    choice(this.name, 'solverType', this.config.solverType, ['midpoint', 'heun']);
    choice(this.name, 'finalSigmasType', finalSigmasType, ['zero', 'sigma_min']);
    if (algorithmType === 'dpmsolver' && finalSigmasType === 'zero') {
      throw new Error(`${this.name}: finalSigmasType 'zero' is not supported for algorithmType 'dpmsolver' (its update divides by sigma): use 'sigma_min'`);
    }
    if (algorithmType === 'sde-dpmsolver++' && solverOrder === 3) {
      throw new Error(`${this.name}: solverOrder 3 is not available for algorithmType 'sde-dpmsolver++' (there is no third-order SDE update): use 1 or 2`);
    }
    this.sigmas = sigmasOf(this.alphasCumprod);
  }

  /** Chooses the timesteps and their sigmas (see the options), and forgets earlier steps. */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    const { numTrainTimesteps: T, timestepSpacing, stepsOffset, useKarrasSigmas, finalSigmasType } = this.config;
    let timesteps = this.checkLargest(op, solverTimesteps(timestepSpacing, T, n, stepsOffset), n);
    const training = sigmasOf(this.alphasCumprod);
    let sigmas: Float64Array;
    if (useKarrasSigmas) {
      sigmas = karrasSigmas(training[0], training[T - 1], n);
      const logSigmas = training.map(log);
      timesteps = Int32Array.from(sigmas, (sigma) => roundHalfEven(sigmaToTimestep(sigma, logSigmas)));
    } else {
      sigmas = Float64Array.from(timesteps, (t) => interpolate(t, training));
    }
    const last = finalSigmasType === 'sigma_min' ? training[0] : 0;
    this.install(n, timesteps, Float64Array.of(...sigmas, last));
  }

  override reset(): void {
    super.reset();
    for (const output of this.outputs) output.dispose();
    this.outputs = [];
    this.lowerOrderNums = 0;
  }

  /**
   * One multistep update from `sample` at this timestep to the next, given the model output (the shape of
   * `sample`). Steps must follow `timesteps` in order. Returns the next sample and the predicted x0.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: DPMSolverStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const k = this.beginStep(op, modelOutput, timestep, sample);
    const { solverOrder, lowerOrderFinal, eulerAtFinal, finalSigmasType, algorithmType } = this.config;
    const n = this.timesteps.length;
    // 1. Which order: lower ones while warming up, and at the end for few steps (or always for 'zero').
    const finalFirst = k === n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalSigmasType === 'zero');
    const finalSecond = k === n - 2 && lowerOrderFinal && n < 15;
    const order = solverOrder === 1 || this.lowerOrderNums < 1 || finalFirst ? 1
      : solverOrder === 2 || this.lowerOrderNums < 2 || finalSecond ? 2 : 3;
    // 2. The model output as the solver needs it: x0 (thresholded) for ++, eps for 'dpmsolver'.
    const predOriginalSample = this.predictX0(sample, modelOutput, this.sigmas[k]);
    this.remember(algorithmType === 'dpmsolver' ? this.epsilonFrom(sample, modelOutput, predOriginalSample, this.sigmas[k]) : keptCopy(predOriginalSample));
    // 3. The update, as coefficients on the sample, the remembered outputs and the noise.
    const { onSample, onOutputs, onNoise } = this.update(order, k);
    const m = this.outputs.slice().reverse();
    const terms: [Tensor, number][] = [[sample, onSample]];
    for (let i = 0; i < order; i++) terms.push([m[i], onOutputs[i]]);
    if (algorithmType === 'sde-dpmsolver++') terms.push([this.stepNoise(op, sample, k, options), onNoise]);
    const prevSample = schedulerCombine(terms);
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, solverOrder);
    this.stepIndex = k + 1;
    return { prevSample, predOriginalSample };
  }

  /** eps for 'dpmsolver': from the model output, or from the thresholded x0 when thresholding (kept). */
  private epsilonFrom(sample: Tensor, modelOutput: Tensor, x0: Tensor, sigma: number): Tensor {
    if (this.config.thresholding) {
      const { alpha, sigmaT } = alphaSigmaOf(sigma);
      return keep(schedulerCombine([[sample, 1 / sigmaT], [x0, -alpha / sigmaT]]));
    }
    const { onSample, onOutput } = this.epsLinear(sigma);
    return keep(schedulerCombine([[sample, onSample], [modelOutput, onOutput]]));
  }

  private remember(output: Tensor): void {
    this.outputs.push(output);
    if (this.outputs.length > this.config.solverOrder) this.outputs.shift()!.dispose();
  }

  /** The update of the given order at step k, as float64 coefficients (diffusers' *_update functions). */
  private update(order: number, k: number): { onSample: number; onOutputs: Vec; onNoise: number } {
    const { algorithmType, solverType } = this.config;
    const [t, s0, s1, s2] = [k + 1, k, k - 1, k - 2].map((i) => (i >= 0 ? alphaSigmaOf(this.sigmas[i]) : null));
    const lambda = (p: { alpha: number; sigmaT: number }) => log(p.alpha) - log(p.sigmaT);
    const { alpha: alphaT, sigmaT } = t!;
    const lambdaT = lambda(t!), lambdaS0 = lambda(s0!);
    const h = lambdaT - lambdaS0;
    const plus = algorithmType !== 'dpmsolver';
    const onSample = algorithmType === 'sde-dpmsolver++' ? sigmaT / s0!.sigmaT * exp(-h)
      : plus ? sigmaT / s0!.sigmaT : alphaT / s0!.alpha;
    const onNoise = algorithmType === 'sde-dpmsolver++' ? sigmaT * Math.sqrt(1 - exp(-2 * h)) : 0;
    // c0, c1, c2: the weights of D0, D1, D2 in x_t (signs as in diffusers' formulas).
    let c0: number, c1 = 0, c2 = 0;
    if (algorithmType === 'dpmsolver++') {
      c0 = -(alphaT * (exp(-h) - 1));
      c1 = solverType === 'midpoint' && order === 2 ? -0.5 * (alphaT * (exp(-h) - 1)) : alphaT * ((exp(-h) - 1) / h + 1);
      c2 = -(alphaT * ((exp(-h) - 1 + h) / (h * h) - 0.5));
    } else if (algorithmType === 'dpmsolver') {
      c0 = -(sigmaT * (exp(h) - 1));
      c1 = solverType === 'midpoint' && order === 2 ? -0.5 * (sigmaT * (exp(h) - 1)) : -(sigmaT * ((exp(h) - 1) / h - 1));
      c2 = -(sigmaT * ((exp(h) - 1 - h) / (h * h) - 0.5));
    } else {
      c0 = alphaT * (1 - exp(-2 * h));
      c1 = solverType === 'midpoint' ? 0.5 * (alphaT * (1 - exp(-2 * h))) : alphaT * ((1 - exp(-2 * h)) / (-2 * h) + 1);
    }
    // D0 = m0; D1 = (m0 - m1) / r0 (second order); third order: D1_0, D1_1, then D1 and D2.
    const D0: Vec = [1, 0, 0];
    if (order === 1) return { onSample, onOutputs: axpy(c0, D0, [0, 0, 0]), onNoise };
    const r0 = (lambdaS0 - lambda(s1!)) / h;
    const D10: Vec = [1 / r0, -1 / r0, 0];
    if (order === 2) return { onSample, onOutputs: axpy(c1, D10, axpy(c0, D0, [0, 0, 0])), onNoise };
    const r1 = (lambda(s1!) - lambda(s2!)) / h;
    const D11: Vec = [0, 1 / r1, -1 / r1];
    const difference = axpy(-1, D11, D10);
    const D1 = axpy(r0 / (r0 + r1), difference, D10);
    const D2 = axpy(1 / (r0 + r1), difference, [0, 0, 0]);
    return { onSample, onOutputs: axpy(c2, D2, axpy(c1, D1, axpy(c0, D0, [0, 0, 0]))), onNoise };
  }
}
