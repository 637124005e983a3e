/**
 * Float64 scalar math computed in WebAssembly (assembly/math.ts: AssemblyScript's own implementations, compiled
 * into the module). JavaScript's Math.exp, log, cos, sin, tanh and pow differ in their last bits between engines
 * and engine versions, so any value that feeds a numeric result (schedules, learning rates, toy data, solver
 * coefficients) takes them from here. `+ - * /`, Math.sqrt, floor/ceil/round, min/max and abs are exact in every
 * engine and need no op.
 */
import { wasm } from '../core/instance.ts';

/** e^x. */
export const exp = (x: number): number => wasm().mathExp(x);
/** e^x - 1, accurate for small x (UniPC's h·phi_1(h), as torch.expm1). */
export const expm1 = (x: number): number => wasm().mathExpm1(x);
/** The natural logarithm. */
export const log = (x: number): number => wasm().mathLog(x);
/** The cosine of x (radians). */
export const cos = (x: number): number => wasm().mathCos(x);
/** The sine of x (radians). */
export const sin = (x: number): number => wasm().mathSin(x);
/** The angle in [0, π] whose cosine is x (x in [-1, 1]; NaN outside), as slerp needs. */
export const acos = (x: number): number => wasm().mathAcos(x);
/** The hyperbolic tangent. */
export const tanh = (x: number): number => wasm().mathTanh(x);
/** x^y. */
export const pow = (x: number, y: number): number => wasm().mathPow(x, y);
