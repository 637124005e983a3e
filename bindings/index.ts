/**
 * ddpm-wasm: denoising diffusion probabilistic models on the CPU, bit-identical in every JavaScript runtime.
 *
 *   import { init, Tensor, ops } from 'ddpm-wasm';
 *   await init();
 */
export { init } from './core/instance.ts';
export { Tensor, tidy, keep, memoryStats, type Shape } from './tensor.ts';
export * as ops from './ops/index.ts';
