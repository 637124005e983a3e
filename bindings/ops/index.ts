/**
 * The ops: each validates its arguments, allocates its outputs and calls WebAssembly kernels. Every numeric call
 * of the library goes through them.
 *
 * Backward ops share one convention (ops/gradients.ts): the last argument, `into`, may name where each gradient
 * goes. A Tensor there receives the gradient ADDED to what it holds (parameter gradients accumulate in place);
 * `null` skips that gradient; when absent, a zeroed tensor is allocated and returned.
 */
export * from './matmul.ts';
export * from './linear.ts';
export * from './conv2d.ts';
export * from './conv2d-packed.ts';
export * from './conv2d-winograd.ts';
export * from './groupnorm.ts';
export * from './groupnorm-silu.ts';
export * from './attention.ts';
export * from './attention-channels.ts';
export * from './elementwise.ts';
export * from './activations.ts';
export * from './resample.ts';
export * from './random.ts';
export * from './adamw.ts';
export * from './scheduler.ts';
export * from './layout.ts';
export * from './dropout.ts';
export * as math from './math.ts';
export type { GradientTargets, GradientResult, Gradients } from './gradients.ts';
export * from './torch-random.ts';
export * from './likelihood.ts';
export * from './per-item.ts';
export * from './learned-variance.ts';
