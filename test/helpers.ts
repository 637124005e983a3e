/**
 * Shared test helpers: seeded inputs, closeness checks that print the first mismatches, and central finite
 * differences in float64. Test inputs come from a tiny integer PRNG (mulberry32), so they are the same in
 * every runtime; they never feed the library's own randomness.
 */
import * as assert from 'uvu/assert';
import { Tensor, type Shape } from '../bindings/index.ts';
// @ts-expect-error: a plain-JavaScript module (browsers load it as is), untyped
import { floats } from '../bindings/verify/scenarios/inputs.js';

/** A deterministic stream of floats in [-1, 1) (mulberry32: integer arithmetic only), shared with the harness. */
export const seededFloats = (count: number, seed: number): Float32Array => floats(count, seed);

/** A tensor of seeded values in [-1, 1), scaled by `scale`. */
export function randomTensor(shape: Shape, seed: number, scale = 1): Tensor {
  const data = seededFloats(shape.reduce((a, b) => a * b, 1), seed);
  if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] *= scale;
  return Tensor.from(data, shape);
}

export interface Tolerance { atol?: number; rtol?: number }

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| element-wise; on failure the message lists the worst
 * and the first mismatching elements.
 */
export function assertClose(
  actual: ArrayLike<number> | Tensor, expected: ArrayLike<number> | Tensor, tol: Tolerance, label: string,
): void {
  const a = actual instanceof Tensor ? actual.toFloat32Array() : actual;
  const e = expected instanceof Tensor ? expected.toFloat32Array() : expected;
  assert.is(a.length, e.length, `${label}: length ${a.length} != expected ${e.length}`);
  const { atol = 1e-6, rtol = 1e-5 } = tol;
  const bad: string[] = [];
  let worst = 0, worstAt = -1;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - e[i]);
    const excess = err - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= 0)) {
      if (bad.length < 5) bad.push(`[${i}] ${a[i]} vs ${e[i]}`);
      if (!(excess <= worst)) { worst = excess; worstAt = i; }
    }
  }
  if (bad.length > 0) {
    assert.unreachable(`${label}: mismatch (atol ${atol}, rtol ${rtol}); worst at [${worstAt}] ${a[worstAt]} vs ${e[worstAt]}; first: ${bad.join(', ')}`);
  }
}

/**
 * Gradient of a scalar function of `x` by central differences (float64): d f / d x_i ~ (f(x+h) - f(x-h)) / 2h.
 */
export function finiteDifference(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h; const up = f(x);
    x[i] = saved - h; const down = f(x);
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Sum of a[i] * b[i] in float64: the scalar loss L = <y, r> whose gradient wrt y is r. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export const toF64 = (t: Tensor | Float32Array): Float64Array =>
  Float64Array.from(t instanceof Tensor ? t.toFloat32Array() : t);

/** Float32 values from the base64 of their little-endian bytes (how the fixture scripts store arrays). */
export const decodeFloat32 = (text: string): Float32Array => new Float32Array(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer);
