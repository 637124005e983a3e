// Optimizer kernels over flat f32 buffers: every parameter of a model lives in one buffer, its gradients in
// another of the same length, and the optimizer state (m, v, the EMA weights) in more of the same length.
//
// adamwStep is torch.optim.AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019):
//   p = p - lr·wd·p
//   m = β1·m + (1 - β1)·g
//   v = β2·v + (1 - β2)·g²
//   p = p - lr·(m / (1 - β1^t)) / (sqrt(v / (1 - β2^t)) + eps)
// The scalars are computed once per call in f64 (AssemblyScript's Math.pow, compiled into the module) and
// rounded once to f32, as PyTorch computes them in Python floats and casts them for a float32 tensor:
//   decay = 1 - lr·wd, b1 = β1, c1 = 1 - β1, b2 = β2, c2 = 1 - β2,
//   stepSize = lr / (1 - β1^t), bc2Sqrt = sqrt(1 - β2^t), eps.
// Then, per element, in f32 and in exactly this order (PyTorch's single-tensor grouping):
//   1. p = p · decay
//   2. m = b1·m + c1·g
//   3. v = b2·v + (c2·g)·g
//   4. denom = sqrt(v) / bc2Sqrt + eps
//   5. p = p - (stepSize·m) / denom
// Only IEEE mul, add, sub, div and sqrt, never fused, so the bits are the same in every engine, and the SIMD
// kernel equals its scalar twin bit for bit (f32x4 lanes round like scalar f32). PyTorch's own CPU kernels may
// fuse step 2 (its `add_(grad, alpha)` is an FMA in AVX2 builds), so its float32 results can differ from these
// in the last bit of m, and from there in p and v.
//
// emaUpdate keeps an exponential moving average of the weights: ema = decay·ema + (1 - decay)·param.
//
// Legend: n elements.

// ---------------------------------------------------------------------------------------------------------
// AdamW

/** One AdamW step over n elements, in place on param, m and v; step is the 1-based step number t. */
export function adamwStep(
  param: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weightDecay: f64, step: i32,
): void {
  const decay = <f32>(1.0 - lr * weightDecay);
  const b1 = <f32>beta1, c1 = <f32>(1.0 - beta1);
  const b2 = <f32>beta2, c2 = <f32>(1.0 - beta2);
  const stepSize = <f32>(lr / (1.0 - Math.pow(beta1, <f64>step)));
  const bc2Sqrt = <f32>Math.sqrt(1.0 - Math.pow(beta2, <f64>step));
  const epsilon = <f32>eps;
  const vDecay = f32x4.splat(decay), vB1 = f32x4.splat(b1), vC1 = f32x4.splat(c1);
  const vB2 = f32x4.splat(b2), vC2 = f32x4.splat(c2), vStep = f32x4.splat(stepSize);
  const vBc2 = f32x4.splat(bc2Sqrt), vEps = f32x4.splat(epsilon);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const g = v128.load(grad + at);
    const p = f32x4.mul(v128.load(param + at), vDecay);
    const mi = f32x4.add(f32x4.mul(vB1, v128.load(m + at)), f32x4.mul(vC1, g));
    const vi = f32x4.add(f32x4.mul(vB2, v128.load(v + at)), f32x4.mul(f32x4.mul(vC2, g), g));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), vBc2), vEps);
    v128.store(m + at, mi);
    v128.store(v + at, vi);
    v128.store(param + at, f32x4.sub(p, f32x4.div(f32x4.mul(vStep, mi), denom)));
  }
  for (; i < n; i++) {
    adamwElement(<usize>i << 2, param, grad, m, v, decay, b1, c1, b2, c2, stepSize, bc2Sqrt, epsilon);
  }
}

/** The scalar twin of `adamwStep`. */
export function adamwStepScalar(
  param: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weightDecay: f64, step: i32,
): void {
  const decay = <f32>(1.0 - lr * weightDecay);
  const b1 = <f32>beta1, c1 = <f32>(1.0 - beta1);
  const b2 = <f32>beta2, c2 = <f32>(1.0 - beta2);
  const stepSize = <f32>(lr / (1.0 - Math.pow(beta1, <f64>step)));
  const bc2Sqrt = <f32>Math.sqrt(1.0 - Math.pow(beta2, <f64>step));
  const epsilon = <f32>eps;
  for (let i = 0; i < n; i++) {
    adamwElement(<usize>i << 2, param, grad, m, v, decay, b1, c1, b2, c2, stepSize, bc2Sqrt, epsilon);
  }
}

/** Steps 1-5 of the header for the element at byte offset `at`. */
// @ts-ignore: decorator
@inline function adamwElement(
  at: usize, param: usize, grad: usize, m: usize, v: usize,
  decay: f32, b1: f32, c1: f32, b2: f32, c2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32,
): void {
  const g = load<f32>(grad + at);
  const p = load<f32>(param + at) * decay;
  const mi = b1 * load<f32>(m + at) + c1 * g;
  const vi = b2 * load<f32>(v + at) + (c2 * g) * g;
  const denom = Mathf.sqrt(vi) / bc2Sqrt + eps;
  store<f32>(m + at, mi);
  store<f32>(v + at, vi);
  store<f32>(param + at, p - (stepSize * mi) / denom);
}

// ---------------------------------------------------------------------------------------------------------
// Exponential moving average of the weights

/** ema = decay·ema + (1 - decay)·param over n elements, in place on ema (both factors rounded once to f32). */
export function emaUpdate(ema: usize, param: usize, n: i32, decay: f64): void {
  const d = <f32>decay, c = <f32>(1.0 - decay);
  const vD = f32x4.splat(d), vC = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(ema + at, f32x4.add(f32x4.mul(vD, v128.load(ema + at)), f32x4.mul(vC, v128.load(param + at))));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(ema + at, d * load<f32>(ema + at) + c * load<f32>(param + at));
  }
}

/** The scalar twin of `emaUpdate`. */
export function emaUpdateScalar(ema: usize, param: usize, n: i32, decay: f64): void {
  const d = <f32>decay, c = <f32>(1.0 - decay);
  for (let i = 0; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(ema + at, d * load<f32>(ema + at) + c * load<f32>(param + at));
  }
}
