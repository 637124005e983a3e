// Scalar float64 math for the TypeScript layer. JavaScript's Math.exp/cos/log differ in the last bits between
// engines; these are compiled into the module (AssemblyScript's own implementations), so schedules and other
// values computed once in TypeScript are the same everywhere.

export function mathExp(x: f64): f64 { return Math.exp(x); }
export function mathLog(x: f64): f64 { return Math.log(x); }
export function mathCos(x: f64): f64 { return Math.cos(x); }
export function mathSin(x: f64): f64 { return Math.sin(x); }
export function mathTanh(x: f64): f64 { return Math.tanh(x); }
export function mathPow(x: f64, y: f64): f64 { return Math.pow(x, y); }
export function mathExpm1(x: f64): f64 { return Math.expm1(x); }
export function mathAcos(x: f64): f64 { return Math.acos(x); }
