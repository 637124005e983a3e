// Reductions per batch item: out[n] = the sum over item n's M elements, in f64, for N items laid out back to back
// (the Langevin corrector's gradient and noise norms, schedulers/score-sde-pc.ts, are per sample, so that a
// sample never depends on the others in its batch). Each item is summed in the fixed order of reduce.ts's
// reduceF64 (a function of M alone); the scalar twins sum in index order, agreeing to f64 rounding.
//
// Legend: N batch items, M elements per item; out holds N f64.
import { at, reduceF64, reduceF64Scalar, SQUARES } from './reduce';

/** out[n] = sum of x[n, i]^2 over i, squares formed in f64. */
export function sumOfSquaresPerItem(out: usize, x: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) store<f64>(out + (<usize>n << 3), reduceF64(at(x, n * M), 0, M, SQUARES));
}

export function sumOfSquaresPerItemScalar(out: usize, x: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) store<f64>(out + (<usize>n << 3), reduceF64Scalar(at(x, n * M), 0, M, SQUARES));
}
