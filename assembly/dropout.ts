// Dropout (Srivastava et al. 2014) with a mask drawn from given uniforms: keep x with probability 1 - p and
// scale it by 1 / (1 - p), so the expected output equals x. The uniforms come from the counter-based generator
// (random.ts) at an offset set by the sample's index, so the mask of a sample never depends on the batch split.
//
//   mask[i] = u[i] >= p ? 1 / (1 - p) : 0;   y = x * mask;   backward: dx += dy * mask

export function dropoutForward(y: usize, mask: usize, x: usize, u: usize, n: i32, p: f32): void {
  const keep = f32x4.splat(<f32>1 / (<f32>1 - p));
  const threshold = f32x4.splat(p);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const m = v128.bitselect(keep, zero, f32x4.ge(v128.load(u + at), threshold));
    v128.store(mask + at, m);
    v128.store(y + at, f32x4.mul(v128.load(x + at), m));
  }
  for (; i < n; i++) dropoutElement(y, mask, x, u, i, p);
}

export function dropoutForwardScalar(y: usize, mask: usize, x: usize, u: usize, n: i32, p: f32): void {
  for (let i = 0; i < n; i++) dropoutElement(y, mask, x, u, i, p);
}

// @ts-ignore: decorator
@inline function dropoutElement(y: usize, mask: usize, x: usize, u: usize, i: i32, p: f32): void {
  const at = <usize>i << 2;
  const m: f32 = load<f32>(u + at) >= p ? <f32>1 / (<f32>1 - p) : 0;
  store<f32>(mask + at, m);
  store<f32>(y + at, load<f32>(x + at) * m);
}

/** dx += dy * mask. */
export function dropoutBackward(dx: usize, dy: usize, mask: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, f32x4.add(v128.load(dx + at), f32x4.mul(v128.load(dy + at), v128.load(mask + at))));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(dx + at, load<f32>(dx + at) + load<f32>(dy + at) * load<f32>(mask + at));
  }
}

export function dropoutBackwardScalar(dx: usize, dy: usize, mask: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(dx + at, load<f32>(dx + at) + load<f32>(dy + at) * load<f32>(mask + at));
  }
}
