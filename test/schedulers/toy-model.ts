/**
 * The toy model of the scheduler fixture scripts (scripts/fixtures/*.py), shared by the loop tests:
 * float32(0.5 x + 0.25 (u² - 0.5 u) + 1.2 w), u = t / T, in doubles, with the fixed weights w below.
 */
import { Tensor } from '../../bindings/index.ts';

/** The fixtures' weights w for `length` elements: ((i mod 7) - 3) / 3. */
export const toyWeights = (length: number): number[] => Array.from({ length }, (_, i) => ((i % 7) - 3) / 3);

/** The toy model's prediction for x at timestep t of T, with weights w. */
export function toyModel(x: Tensor, t: number, T: number, w: readonly number[]): Tensor {
  const u = t / T;
  return Tensor.from(x.toFloat32Array().map((v, i) => 0.5 * v + 0.25 * (u * u - 0.5 * u) + 1.2 * w[i]), x.shape);
}

/** The largest |a - b| relative to the scale of b (its largest |value|, at least 1). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0, scale = 1;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}
