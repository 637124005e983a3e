// The WebAssembly core of ddpm-wasm: every kernel family lives in its own file and is re-exported here.
// Pointers are byte addresses into linear memory; tensors are float32, row-major (NCHW for images).
// Argument order everywhere: outputs, saved buffers, inputs, weights, workspace, sizes, options.
// Backward kernels ADD into their gradient outputs (the caller zeroes them once), so gradients accumulate.
export * from './memory';
export * from './math';
export * from './peak';
export * from './matmul';
export * from './linear';
export * from './conv2d';
export * from './conv2d-packed';
export * from './conv2d-winograd';
export * from './groupnorm';
export * from './groupnorm-silu';
export * from './attention';
export * from './attention-channels';
export * from './elementwise';
export * from './spatial';
export * from './resample';
export * from './activations';
export * from './embedding';
// The random fills; the raw Philox words (philox4x32, randBitsFill) are exported only by the test build
// (test-hooks.ts), which checks them against the published known answers.
export { randnFill, randnFillScalar, randUniformFill, randUniformFillScalar, randIntFill, randIntFillScalar } from './random';
export * from './adamw';
export * from './scheduler';
export * from './layout';
export * from './dropout';
export * from './torch-random';
export * from './half';
export * from './likelihood';
export * from './per-item';
export * from './learned-variance';
