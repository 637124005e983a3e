/**
 * UniPC (Zhao et al. 2023, "UniPC: a unified predictor-corrector framework for fast sampling of diffusion
 * models"), after diffusers' UniPCMultistepScheduler. Each step first corrects the sample it is given with the
 * model output just computed there (UniC, Algorithm 2: the update that produced it is redone with one more
 * point), then predicts the next one (UniP, Algorithm 1). In lambda = log(alpha_t / sigma_t), with h = lambda_t -
 * lambda_s0, hh = -h (data prediction, predictX0) or h, and r_k = (lambda_sk - lambda_s0) / h:
 *
 *   x_t = (sigma_t / sigma_s0) x - alpha_t (e^{hh} - 1) m0 - alpha_t B(h) sum_k rho_k D_k,   D_k = (m_k - m0) / r_k
 *
 * where B(h) = e^{hh} - 1 ('bh2', the paper's B2) or hh ('bh1'), and rho solves R rho = b with R_ik = r_k^(i-1),
 * b_i = h phi_(i+1)(h) · i! / B(h) (eq. 7). The predictor of order 2 uses rho = 0.5; the corrector of order 1
 * too. Updates are float64 linear combinations in one `schedulerCombine`.
 */
import { expm1, log } from '../ops/math.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import { keep, type Tensor } from '../tensor.ts';
import type { SchedulerStepOutput } from './base.ts';
import { BASE_DEFAULTS, choice, show, THRESHOLDING_DEFAULTS, type BaseSchedulerOptions, type ThresholdingOptions } from './options.ts';
import { keptCopy, SigmaScheduler } from './sigma-scheduler.ts';
import { alphaSigmaOf, interpolate, karrasSigmas, sigmasOf, sigmaToTimestep } from './sigmas.ts';
import { roundHalfEven, solverTimesteps } from './timesteps.ts';

/** B(h) of UniPC: `'bh1'` hh (for unconditional sampling), `'bh2'` e^{hh} - 1 (guided sampling; diffusers' default). */
export type UniPCSolverType = 'bh1' | 'bh2';

export interface UniPCMultistepSchedulerOptions extends BaseSchedulerOptions, ThresholdingOptions {
  /** 1, 2 or 3: the predictor's order (the corrector's is one more). Default 2. */
  solverOrder?: number;
  /** Solve for x0 (data prediction, UniPC's recommended form) rather than eps. Default true. */
  predictX0?: boolean;
  /** See `UniPCSolverType`. Default `'bh2'`. */
  solverType?: UniPCSolverType;
  /** Lower the order for the last steps, so that it never uses more points than steps remain. Default true. */
  lowerOrderFinal?: boolean;
  /** Step indices after which the corrector is skipped (diffusers' disable_corrector). Default []. */
  disableCorrector?: readonly number[];
  /** Karras et al.'s noise levels (rho = 7) instead of the training sigmas at evenly spaced timesteps. Default false. */
  useKarrasSigmas?: boolean;
}

const DEFAULTS: Required<UniPCMultistepSchedulerOptions> = {
  ...BASE_DEFAULTS, timestepSpacing: 'linspace', solverOrder: 2, ...THRESHOLDING_DEFAULTS, predictX0: true,
  solverType: 'bh2', lowerOrderFinal: true, disableCorrector: [], useKarrasSigmas: false,
};
const STEP_OPTIONS: readonly string[] = [];

export class UniPCMultistepScheduler extends SigmaScheduler<UniPCMultistepSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** Every option with its default (diffusers' UniPCMultistepScheduler defaults). */
  static readonly defaults: Readonly<Required<UniPCMultistepSchedulerOptions>> = DEFAULTS;
  /** The converted outputs of the last steps (x0 or eps), oldest first. */
  private outputs: Tensor[] = [];
  /** The (corrected) sample of the previous step, for the corrector. */
  private lastSample: Tensor | null = null;
  private lowerOrderNums = 0;
  /** The order of the previous step's predictor, which the corrector repeats (diffusers' this_order). */
  private thisOrder = 1;

  /** A UniPC scheduler; every option is documented on `UniPCMultistepSchedulerOptions`. */
  constructor(options: UniPCMultistepSchedulerOptions = {}) {
    super('UniPCMultistepScheduler', options, DEFAULTS);
    choice(this.name, 'solverType', this.config.solverType, ['bh1', 'bh2']);
    const disabled = this.config.disableCorrector;
    if (!Array.isArray(disabled) || !disabled.every((k) => Number.isInteger(k) && k >= 0)) {
      throw new Error(`${this.name}: disableCorrector must be an array of step indices (integers >= 0), got ${show(disabled)}`);
    }
    this.sigmas = sigmasOf(this.alphasCumprod);
  }

  /** Chooses the timesteps and their sigmas; the last sigma is the first training one (sigma_min). */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    const { numTrainTimesteps: T, timestepSpacing, stepsOffset, useKarrasSigmas } = this.config;
    let timesteps = this.checkLargest(op, solverTimesteps(timestepSpacing, T, n, stepsOffset), n);
    const training = sigmasOf(this.alphasCumprod);
    let sigmas: Float64Array, last: number;
    if (useKarrasSigmas) {
      sigmas = karrasSigmas(training[0], training[T - 1], n);
      const logSigmas = training.map(log);
      timesteps = Int32Array.from(sigmas, (sigma) => roundHalfEven(sigmaToTimestep(sigma, logSigmas)));
      last = sigmas[n - 1];
    } else {
      sigmas = Float64Array.from(timesteps, (t) => interpolate(t, training));
      last = training[0];
    }
    this.install(n, timesteps, Float64Array.of(...sigmas, last));
  }

  override reset(): void {
    super.reset();
    for (const output of this.outputs) output.dispose();
    this.outputs = [];
    this.lastSample?.dispose();
    this.lastSample = null;
    this.lowerOrderNums = 0;
    this.thisOrder = 1;
  }

  /**
   * One UniPC step at this timestep: corrects `sample` with the model output (from the second step on), then
   * predicts the next sample. Steps must follow `timesteps` in order. Returns the next sample and the predicted x0.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: Record<string, never> = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const k = this.beginStep(op, modelOutput, timestep, sample);
    const { solverOrder, lowerOrderFinal, predictX0, disableCorrector } = this.config;
    // 1. The model output as the solver needs it (x0, thresholded, or eps), at the uncorrected sample.
    const predOriginalSample = this.predictX0(sample, modelOutput, this.sigmas[k]);
    const { onSample, onOutput } = this.epsLinear(this.sigmas[k]);
    const converted = predictX0 ? keptCopy(predOriginalSample) : keep(schedulerCombine([[sample, onSample], [modelOutput, onOutput]]));
    // 2. UniC: redo the last update with this output as one more point.
    let x = sample;
    if (k > 0 && !disableCorrector.includes(k - 1) && this.lastSample !== null) {
      x = this.corrector(converted, this.lastSample, k, this.thisOrder);
    }
    this.outputs.push(converted);
    if (this.outputs.length > solverOrder) this.outputs.shift()!.dispose();
    // 3. UniP from the corrected sample, of an order limited by the warm-up and (lowerOrderFinal) the steps left.
    const order = lowerOrderFinal ? Math.min(solverOrder, this.timesteps.length - k) : solverOrder;
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1);
    this.lastSample?.dispose();
    this.lastSample = keptCopy(x);
    const prevSample = this.predictor(x, k, this.thisOrder);
    if (x !== sample) x.dispose();
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, solverOrder);
    this.stepIndex = k + 1;
    return { prevSample, predOriginalSample };
  }

  /** UniP of order p from x at step k to step k + 1 (diffusers' multistep_uni_p_bh_update). */
  private predictor(x: Tensor, k: number, p: number): Tensor {
    const m = this.outputs.slice().reverse(); // m[0] the newest
    const { scale, hh, phi1, bh, rks } = this.coefficients(k + 1, k, (i) => k - i, p);
    const rhos = p === 1 ? [] : p === 2 ? [0.5] : solve(powers(rks.slice(0, -1), p - 1), phis(p - 1, hh, bh));
    // x_t = scale x - K phi1 m0 - K B sum_j rho_j (m_j - m0) / r_j, K = alpha_t (x0) or sigma_t (eps).
    const K = this.solverScale(k + 1);
    const terms: [Tensor, number][] = [[x, scale], [m[0], -K * phi1 + rhos.reduce((sum, rho, j) => sum + K * bh * rho / rks[j], 0)]];
    rhos.forEach((rho, j) => terms.push([m[j + 1], -K * bh * rho / rks[j]]));
    return schedulerCombine(terms);
  }

  /** UniC of order p: the sample at step k from the last one and the new output (multistep_uni_c_bh_update). */
  private corrector(modelT: Tensor, last: Tensor, k: number, p: number): Tensor {
    const m = this.outputs.slice().reverse(); // m[0]: the previous step's output
    const { scale, hh, phi1, bh, rks } = this.coefficients(k, k - 1, (i) => k - (i + 1), p);
    const rhos = p === 1 ? [0.5] : solve(powers(rks, p), phis(p, hh, bh));
    const K = this.solverScale(k);
    const rhoT = rhos[p - 1];
    // x_t = scale x - K phi1 m0 - K B (sum_j rho_j (m_j - m0) / r_j + rho_last (model_t - m0)).
    let onM0 = -K * phi1 + K * bh * rhoT;
    const terms: [Tensor, number][] = [[last, scale]];
    for (let j = 0; j < p - 1; j++) {
      onM0 += K * bh * rhos[j] / rks[j];
      terms.push([m[j + 1], -K * bh * rhos[j] / rks[j]]);
    }
    terms.splice(1, 0, [m[0], onM0]);
    terms.push([modelT, -K * bh * rhoT]);
    return schedulerCombine(terms);
  }

  /** alpha_t for data prediction, sigma_t for noise prediction, at sigma index i. */
  private solverScale(i: number): number {
    const { alpha, sigmaT } = alphaSigmaOf(this.sigmas[i]);
    return this.config.predictX0 ? alpha : sigmaT;
  }

  private lambda(i: number): number {
    const { alpha, sigmaT } = alphaSigmaOf(this.sigmas[i]);
    return log(alpha) - log(sigmaT);
  }

  /**
   * The shared quantities of both updates from sigma index s0 to t, with the older points at older(i), i = 1 .. p-1:
   * hh = -h (data prediction) or h, phi1 = e^{hh} - 1, B(h), and r_1 .. r_{p-1}, 1.
   */
  private coefficients(t: number, s0: number, older: (i: number) => number, p: number) {
    const a = alphaSigmaOf(this.sigmas[t]), b = alphaSigmaOf(this.sigmas[s0]);
    const h = this.lambda(t) - this.lambda(s0);
    const hh = this.config.predictX0 ? -h : h;
    const rks: number[] = [];
    for (let i = 1; i < p; i++) rks.push((this.lambda(older(i)) - this.lambda(s0)) / h);
    rks.push(1);
    const bh = this.config.solverType === 'bh1' ? hh : expm1(hh);
    const scale = this.config.predictX0 ? a.sigmaT / b.sigmaT : a.alpha / b.alpha;
    return { scale, hh, phi1: expm1(hh), bh, rks };
  }
}

/** R with R[i][j] = rks[j]^i for i = 0 .. rows - 1 (torch.pow of the r_k, one row per power). */
function powers(rks: readonly number[], rows: number): number[][] {
  return Array.from({ length: rows }, (_, i) => rks.slice(0, rows).map((r) => {
    let v = 1;
    for (let e = 0; e < i; e++) v *= r;
    return v;
  }));
}

/** b_i = h phi_k(h) · i! / B(h) for i = 1 .. rows, by diffusers' recurrence h_phi_k <- h_phi_k / hh - 1 / (i + 1)!. */
function phis(rows: number, hh: number, bh: number): number[] {
  const b: number[] = [];
  let hPhiK = expm1(hh) / hh - 1, factorial = 1;
  for (let i = 1; i <= rows; i++) {
    b.push(hPhiK * factorial / bh);
    factorial *= i + 1;
    hPhiK = hPhiK / hh - 1 / factorial;
  }
  return b;
}

/** Solves the small system A x = b by Gaussian elimination with partial pivoting (what torch.linalg.solve does). */
export function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row.slice(0, n), b[i]]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[pivot][c])) pivot = r;
    [M[c], M[pivot]] = [M[pivot], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let j = c; j <= n; j++) M[r][j] -= f * M[c][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let j = r + 1; j < n; j++) s -= M[r][j] * x[j];
    x[r] = s / M[r][r];
  }
  return x;
}
