/** The ops: each validates its arguments, allocates its outputs and calls one WebAssembly kernel. */
export { matmul, batchMatmul, matmulBackward } from './matmul.ts';
