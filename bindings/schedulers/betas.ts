/**
 * Noise schedules: the variances beta_t of the forward process q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1},
 * beta_t I), for 0-indexed timesteps t = 0 .. T-1, and the cumulative products alphasCumprod[t] = prod of
 * (1 - beta_s) for s = 0 .. t (Ho et al. 2020, eq. 4).
 *
 * Everything is float64 and the same bits in every runtime: TypeScript does only + - * / and Math.sqrt; the
 * cos of the cosine schedule and the exp of the sigmoid schedule come from the WebAssembly core, never from
 * JavaScript's Math (whose last bits differ between engines).
 */
import { cos, exp } from '../ops/math.ts';

/**
 * The beta schedules (diffusers' names):
 * - `'linear'`: betaStart .. betaEnd evenly spaced (Ho et al. 2020).
 * - `'scaled_linear'`: sqrt(betaStart) .. sqrt(betaEnd) evenly spaced, squared (latent diffusion).
 * - `'cosine'` (alias `'squaredcos_cap_v2'`): Nichol & Dhariwal 2021, alpha_bar(u) = cos((u + 0.008) / 1.008 · π/2)²
 *   and beta_i = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999); ignores betaStart and betaEnd.
 * - `'sigmoid'`: sigmoid(linspace(-6, 6, T)) · (betaEnd - betaStart) + betaStart (GeoDiff).
 */
export type BetaSchedule = 'linear' | 'scaled_linear' | 'cosine' | 'squaredcos_cap_v2' | 'sigmoid';

export const BETA_SCHEDULES: readonly BetaSchedule[] = ['linear', 'scaled_linear', 'cosine', 'squaredcos_cap_v2', 'sigmoid'];

/** The largest beta of the cosine schedule (diffusers' max_beta): keeps alpha_t away from 0 near t = T. */
export const COSINE_MAX_BETA = 0.999;

/**
 * `steps` evenly spaced values from `start` to `end`, both exact, computed as torch.linspace does (the first half
 * counted up from `start`, the second half down from `end`).
 */
export function linspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) { out[0] = start; return out; }
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
  return out;
}

/** Betas from betaStart to betaEnd, evenly spaced. */
export function linearBetas(T: number, betaStart: number, betaEnd: number): Float64Array {
  return linspace(betaStart, betaEnd, T);
}

/** Betas whose square roots are evenly spaced from sqrt(betaStart) to sqrt(betaEnd). */
export function scaledLinearBetas(T: number, betaStart: number, betaEnd: number): Float64Array {
  const roots = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), T);
  return roots.map((r) => r * r);
}

/** The improved-DDPM cosine schedule (diffusers' 'squaredcos_cap_v2'), in the order diffusers evaluates it. */
export function cosineBetas(T: number, maxBeta = COSINE_MAX_BETA): Float64Array {
  const alphaBar = (u: number) => {
    const c = cos((u + 0.008) / 1.008 * Math.PI / 2);
    return c * c;
  };
  const betas = new Float64Array(T);
  for (let i = 0; i < T; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), maxBeta);
  return betas;
}

/** sigmoid(linspace(-6, 6, T)) scaled to [betaStart, betaEnd]. */
export function sigmoidBetas(T: number, betaStart: number, betaEnd: number): Float64Array {
  return linspace(-6, 6, T).map((x) => 1 / (1 + exp(-x)) * (betaEnd - betaStart) + betaStart);
}

/** The betas of a named schedule (options already validated). */
export function betasFor(schedule: BetaSchedule, T: number, betaStart: number, betaEnd: number): Float64Array {
  switch (schedule) {
    case 'linear': return linearBetas(T, betaStart, betaEnd);
    case 'scaled_linear': return scaledLinearBetas(T, betaStart, betaEnd);
    case 'cosine': case 'squaredcos_cap_v2': return cosineBetas(T);
    case 'sigmoid': return sigmoidBetas(T, betaStart, betaEnd);
  }
}

/** The running product: out[t] = values[0] · values[1] · ... · values[t], multiplied left to right. */
export function cumprod(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let product = 1;
  for (let i = 0; i < values.length; i++) out[i] = product *= values[i];
  return out;
}

/**
 * Zero terminal SNR (Lin et al. 2024, Algorithm 1), in diffusers' order of operations: shift sqrt(ab) so that its
 * last value is 0, scale it so that its first is unchanged, square, and undo the cumulative product. The last
 * beta becomes 1 (alpha 0): x_{T-1} is pure noise.
 */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const root = cumprod(betas.map((beta) => 1 - beta)).map(Math.sqrt);
  const first = root[0], last = root[root.length - 1];
  const scale = first / (first - last);
  const alphaBar = root.map((r) => { const shifted = (r - last) * scale; return shifted * shifted; });
  return alphaBar.map((ab, t) => 1 - (t === 0 ? ab : ab / alphaBar[t - 1]));
}
