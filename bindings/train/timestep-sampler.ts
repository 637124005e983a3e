/**
 * Importance-sampled training timesteps (Nichol & Dhariwal 2021, §3.3, eq. 18; improved-diffusion's
 * LossSecondMomentResampler): p_t ∝ sqrt(E[L_t²]), estimated from the last 10 losses seen at each timestep, mixed
 * with 0.001 of the uniform distribution, and each item's loss weighted by 1 / (T p_t) so that the objective keeps
 * its expectation. Until every timestep has its 10 losses (the warm-up) timesteps are uniform and weights 1.
 *
 * Deterministic and resumable: the history is part of the training state (its losses are stored as float32, so
 * they are rounded to float32 when recorded), and a draw inverts the cumulative distribution, summed in index
 * order in float64, at a uniform number of the counter-based generator.
 */

/** Losses remembered per timestep (improved-diffusion's history_per_term). */
export const HISTORY_PER_TERM = 10;
/** The share of the uniform distribution mixed in (improved-diffusion's uniform_prob). */
export const UNIFORM_PROB = 0.001;

/** The sampler's state as flat arrays (the training state stores them as float32 tensors). */
export interface SamplerState {
  /** [T, HISTORY_PER_TERM]: timestep t's losses, oldest first. */
  history: Float32Array;
  /** [T]: how many of each timestep's slots hold a loss (0 .. HISTORY_PER_TERM). */
  counts: Float32Array;
}

export class LossSecondMomentResampler {
  readonly history: Float32Array;
  readonly counts: Int32Array;

  constructor(readonly numTimesteps: number) {
    this.history = new Float32Array(numTimesteps * HISTORY_PER_TERM);
    this.counts = new Int32Array(numTimesteps);
  }

  /** Whether every timestep has its full history (before that, sampling is uniform). */
  get warmedUp(): boolean {
    return this.counts.every((c) => c === HISTORY_PER_TERM);
  }

  /**
   * p_t for every timestep (improved-diffusion's weights()): sqrt of the mean squared loss, normalised, times
   * 1 - UNIFORM_PROB, plus UNIFORM_PROB / T; uniform during the warm-up.
   */
  probabilities(): Float64Array {
    const T = this.numTimesteps;
    if (!this.warmedUp) return new Float64Array(T).fill(1 / T);
    const root = new Float64Array(T);
    let total = 0;
    for (let t = 0; t < T; t++) {
      let squares = 0;
      for (let k = 0; k < HISTORY_PER_TERM; k++) {
        const loss = this.history[t * HISTORY_PER_TERM + k];
        squares += loss * loss;
      }
      root[t] = Math.sqrt(squares / HISTORY_PER_TERM);
      total += root[t];
    }
    return root.map((w) => (w / total) * (1 - UNIFORM_PROB) + UNIFORM_PROB / T);
  }

  /**
   * Timesteps for uniform numbers u in [0, 1) (one per item) by inverting the cumulative distribution, and their
   * importance weights 1 / (T p_t).
   */
  sample(uniforms: ArrayLike<number>): { timesteps: Int32Array; weights: Float64Array } {
    const p = this.probabilities();
    const T = this.numTimesteps;
    const cumulative = new Float64Array(T);
    let running = 0;
    for (let t = 0; t < T; t++) cumulative[t] = running += p[t];
    const timesteps = Int32Array.from(uniforms, (u) => {
      const target = u * running;
      let lo = 0, hi = T - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] > target) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    });
    return { timesteps, weights: Float64Array.from(timesteps, (t) => 1 / (T * p[t])) };
  }

  /** Records each item's loss at its timestep, in item order (improved-diffusion's update_with_all_losses). */
  update(timesteps: ArrayLike<number>, losses: ArrayLike<number>): void {
    for (let i = 0; i < timesteps.length; i++) {
      const t = timesteps[i], row = t * HISTORY_PER_TERM;
      if (this.counts[t] === HISTORY_PER_TERM) {
        this.history.copyWithin(row, row + 1, row + HISTORY_PER_TERM);
        this.history[row + HISTORY_PER_TERM - 1] = losses[i];
      } else {
        this.history[row + this.counts[t]] = losses[i];
        this.counts[t]++;
      }
    }
  }

  /** The state, for a training state file. */
  state(): SamplerState {
    return { history: this.history.slice(), counts: Float32Array.from(this.counts) };
  }

  /** Checks a stored state (shapes, counts in range, finite losses); returns an error message or null. */
  check(state: SamplerState): string | null {
    const T = this.numTimesteps;
    if (state.history.length !== T * HISTORY_PER_TERM) return `its loss history has ${state.history.length} values, not ${T} x ${HISTORY_PER_TERM}`;
    if (state.counts.length !== T) return `its loss counts have ${state.counts.length} values, not ${T}`;
    const badCount = state.counts.findIndex((c) => !Number.isInteger(c) || c < 0 || c > HISTORY_PER_TERM);
    if (badCount >= 0) return `the loss count of timestep ${badCount} is ${state.counts[badCount]} (0 to ${HISTORY_PER_TERM})`;
    const badLoss = state.history.findIndex((l) => !Number.isFinite(l));
    if (badLoss >= 0) return `the loss history holds ${state.history[badLoss]} at timestep ${Math.floor(badLoss / HISTORY_PER_TERM)}`;
    return null;
  }

  /** Restores a state checked by `check`. */
  restore(state: SamplerState): void {
    this.history.set(state.history);
    this.counts.set(Int32Array.from(state.counts));
  }
}
