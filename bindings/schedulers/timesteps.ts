/**
 * Inference timesteps: which of the T training timesteps a sampler of numInferenceSteps steps visits, in
 * decreasing order. The three spacings reproduce diffusers' `set_timesteps` exactly, numpy's float arithmetic
 * and round-half-to-even included (table 2 of Lin et al. 2024, "Common diffusion noise schedules and sample
 * steps are flawed", compares them).
 */

/**
 * How inference timesteps are spread over 0 .. T-1:
 * - `'leading'` (diffusers' default): k · floor(T / n) for k = n-1 .. 0, plus stepsOffset (T = 1000, n = 50:
 *   980, 960, ..., 20, 0).
 * - `'trailing'`: round(T - k · T / n) - 1 for k = 0 .. n-1 (T = 1000, n = 50: 999, 979, ..., 19); starts at the
 *   last training timestep.
 * - `'linspace'`: round(linspace(0, T - 1, n)), reversed (999, 979, ..., 20, 0 for n = 50).
 */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** The n inference timesteps, decreasing, for T training timesteps (n <= T, checked by the caller). */
export function spacedTimesteps(spacing: TimestepSpacing, T: number, n: number, stepsOffset: number): Int32Array {
  switch (spacing) {
    case 'leading': return leading(T, n, stepsOffset);
    case 'trailing': return trailing(T, n);
    case 'linspace': return linspaceSpacing(T, n);
  }
}

/** T // n strides from 0, reversed, plus stepsOffset. */
function leading(T: number, n: number, stepsOffset: number): Int32Array {
  const ratio = Math.floor(T / n);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = (n - 1 - k) * ratio + stepsOffset;
  return out;
}

/**
 * np.round(np.arange(T, 0, -T / n)) - 1, with numpy's arange arithmetic (start + i · delta), but exactly n values:
 * for some n (61, 103, 121, ... with T = 1000) numpy's length ceil(T / (T / n)) is n + 1 and diffusers ends on
 * a timestep -1; those first n values are the same.
 */
function trailing(T: number, n: number): Int32Array {
  const step = -(T / n);
  // numpy fills a float arange from its first two values: delta = (start + step) - start.
  const delta = (T + step) - T;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = roundHalfEven(i === 0 ? T : T + i * delta) - 1;
  return out;
}

/** np.linspace(0, T - 1, n).round()[::-1]: i · ((T - 1) / (n - 1)), the last one exactly T - 1. */
function linspaceSpacing(T: number, n: number): Int32Array {
  const out = new Int32Array(n);
  const step = (T - 1) / (n - 1);
  for (let i = 0; i < n; i++) {
    const value = n === 1 ? 0 : i === n - 1 ? T - 1 : i * step;
    out[n - 1 - i] = roundHalfEven(value);
  }
  return out;
}

/** numpy's round (rint): to the nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +Infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The integer timesteps of DPMSolverMultistepScheduler and UniPCMultistepScheduler (diffusers' set_timesteps of
 * those two, which space n + 1 points and drop the last): 'linspace' round(linspace(0, T - 1, n + 1))[::-1][:-1];
 * 'leading' k · floor(T / (n + 1)) for k = n .. 1, plus stepsOffset; 'trailing' as for DDIM.
 */
export function solverTimesteps(spacing: TimestepSpacing, T: number, n: number, stepsOffset: number): Int32Array {
  const out = new Int32Array(n);
  if (spacing === 'trailing') return trailing(T, n);
  if (spacing === 'leading') {
    const ratio = Math.floor(T / (n + 1));
    for (let k = 0; k < n; k++) out[k] = (n - k) * ratio + stepsOffset;
    return out;
  }
  const step = (T - 1) / n;
  for (let k = 0; k < n; k++) out[k] = roundHalfEven(k === 0 ? T - 1 : (n - k) * step);
  return out;
}

/**
 * The timesteps of the Karras-style schedulers (Euler, Euler ancestral, Heun), float32 as in diffusers:
 * 'linspace' linspace(0, T - 1, n)[::-1], which may fall between training timesteps; 'leading' k · floor(T / n)
 * for k = n-1 .. 0, plus stepsOffset; 'trailing' as for DDIM.
 */
export function discreteTimesteps(spacing: TimestepSpacing, T: number, n: number, stepsOffset: number): Float32Array {
  if (spacing === 'linspace') {
    const out = new Float32Array(n);
    const step = (T - 1) / (n - 1);
    for (let i = 0; i < n; i++) out[n - 1 - i] = n === 1 ? 0 : i === n - 1 ? T - 1 : i * step;
    return out;
  }
  return Float32Array.from(spacing === 'leading' ? leading(T, n, stepsOffset) : trailing(T, n));
}
