// The machine's SIMD128 peak, measured by the benchmark in the same run as the kernels: twelve independent
// chains of f32x4.mul + f32x4.add (no fused multiply-add: it is not deterministic across engines).

/** Runs `iterations` rounds of 12 independent f32x4 mul+add chains (96 flops per chain per round... see bench). */
export function simdPeakProbe(iterations: i32, seed: f32): f32 {
  const m = f32x4.splat(<f32>0.999999);
  const a = f32x4.splat(<f32>1e-7);
  let x0 = f32x4.splat(seed), x1 = f32x4.splat(seed + 1), x2 = f32x4.splat(seed + 2), x3 = f32x4.splat(seed + 3);
  let x4 = f32x4.splat(seed + 4), x5 = f32x4.splat(seed + 5), x6 = f32x4.splat(seed + 6), x7 = f32x4.splat(seed + 7);
  let x8 = f32x4.splat(seed + 8), x9 = f32x4.splat(seed + 9), x10 = f32x4.splat(seed + 10), x11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    x0 = f32x4.add(f32x4.mul(x0, m), a); x1 = f32x4.add(f32x4.mul(x1, m), a);
    x2 = f32x4.add(f32x4.mul(x2, m), a); x3 = f32x4.add(f32x4.mul(x3, m), a);
    x4 = f32x4.add(f32x4.mul(x4, m), a); x5 = f32x4.add(f32x4.mul(x5, m), a);
    x6 = f32x4.add(f32x4.mul(x6, m), a); x7 = f32x4.add(f32x4.mul(x7, m), a);
    x8 = f32x4.add(f32x4.mul(x8, m), a); x9 = f32x4.add(f32x4.mul(x9, m), a);
    x10 = f32x4.add(f32x4.mul(x10, m), a); x11 = f32x4.add(f32x4.mul(x11, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11)));
  return f32x4.extract_lane(t, 0);
}

/**
 * The same probe with the multiplier and the addend computed from `seed` (1 - seed·1e-6 and seed·1e-7: for seed 1
 * the constants above) instead of written as constants. Engines compile the two forms differently: V8 15
 * (Turboshaft) rematerialises a v128 constant before each of its 24 uses in the loop and runs the constant form at
 * about a third of this one's speed, while V8 11 recomputes these two values in every iteration (it is short of
 * registers) and runs this form slower. The benchmark takes the faster form as the engine's peak (bench/timing.ts).
 */
export function simdPeakProbeVariable(iterations: i32, seed: f32): f32 {
  const m = f32x4.splat(<f32>1 - seed * <f32>1e-6);
  const a = f32x4.splat(seed * <f32>1e-7);
  let x0 = f32x4.splat(seed), x1 = f32x4.splat(seed + 1), x2 = f32x4.splat(seed + 2), x3 = f32x4.splat(seed + 3);
  let x4 = f32x4.splat(seed + 4), x5 = f32x4.splat(seed + 5), x6 = f32x4.splat(seed + 6), x7 = f32x4.splat(seed + 7);
  let x8 = f32x4.splat(seed + 8), x9 = f32x4.splat(seed + 9), x10 = f32x4.splat(seed + 10), x11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    x0 = f32x4.add(f32x4.mul(x0, m), a); x1 = f32x4.add(f32x4.mul(x1, m), a);
    x2 = f32x4.add(f32x4.mul(x2, m), a); x3 = f32x4.add(f32x4.mul(x3, m), a);
    x4 = f32x4.add(f32x4.mul(x4, m), a); x5 = f32x4.add(f32x4.mul(x5, m), a);
    x6 = f32x4.add(f32x4.mul(x6, m), a); x7 = f32x4.add(f32x4.mul(x7, m), a);
    x8 = f32x4.add(f32x4.mul(x8, m), a); x9 = f32x4.add(f32x4.mul(x9, m), a);
    x10 = f32x4.add(f32x4.mul(x10, m), a); x11 = f32x4.add(f32x4.mul(x11, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11)));
  return f32x4.extract_lane(t, 0);
}
