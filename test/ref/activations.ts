/**
 * Float64 references for ReLU, exact GELU and Mish, and their derivatives, from the definitions. JavaScript has
 * no erf, so `erfcRef` sums the Maclaurin series of erf for |x| < 2 (the terms grow to about e^4 before they shrink:
 * erfc keeps about 1e-13 of relative error) and the continued fraction of erfc beyond (by Lentz's method).
 */
type F = Float64Array;
const map = (x: ArrayLike<number>, f: (v: number) => number): F => Float64Array.from(x, f);

export function erfcRef(x: number): number {
  if (x < 0) return 2 - erfcRef(-x);
  if (x < 2) {
    let term = x, sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^(-x²)/√π · 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...))))), Lentz's algorithm.
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Φ(x), the standard normal distribution function, without cancellation in either tail. */
export const normalCdfRef = (x: number): number => 0.5 * erfcRef(-x / Math.SQRT2);

export const reluRef = (x: ArrayLike<number>): F => map(x, (v) => (v > 0 ? v : 0));
export const reluSlopeRef = (x: ArrayLike<number>): F => map(x, (v) => (v > 0 ? 1 : 0));
export const geluRef = (x: ArrayLike<number>): F => map(x, (v) => v * normalCdfRef(v));
export const geluSlopeRef = (x: ArrayLike<number>): F =>
  map(x, (v) => normalCdfRef(v) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI));
const softplus = (v: number): number => (v > 30 ? v : Math.log1p(Math.exp(v)));
export const mishRef = (x: ArrayLike<number>): F => map(x, (v) => v * Math.tanh(softplus(v)));
export const mishSlopeRef = (x: ArrayLike<number>): F => map(x, (v) => {
  const t = Math.tanh(softplus(v)), s = 1 / (1 + Math.exp(-v));
  return t + v * s * (1 - t * t);
});
