// Float64 references of the learned-variance kernels (assembly/learned-variance.ts), written from the equations
// of Nichol & Dhariwal 2021 (eq. 15, with diffusers' frac = (v + 1) / 2) rather than from the kernels.

/** log sigma² = v' log beta + (1 - v') log beta~ with v' = (v + 1) / 2, per item n (bounds[n] = [minLog, maxLog]). */
export function learnedRangeRef(v: ArrayLike<number>, bounds: [number, number][], M: number): Float64Array {
  return Float64Array.from(v, (x, j) => {
    const [minLog, maxLog] = bounds[Math.floor(j / M)];
    const frac = (x + 1) / 2;
    return frac * maxLog + (1 - frac) * minLog;
  });
}

/** mean + sqrt(e^logVar) · noise, element by element. */
export function varianceNoiseRef(mean: ArrayLike<number>, logVar: ArrayLike<number>, noise: ArrayLike<number>): Float64Array {
  return Float64Array.from(mean, (m, i) => m + Math.sqrt(Math.exp(logVar[i])) * noise[i]);
}
