// Scaled dot-product self-attention, forward and backward, one (batch item, head) block at a time.
//
//   S = q·kᵀ / sqrt(D)          P = softmax(S) along rows (the row max subtracted first)          O = P·v
//   dV += Pᵀ·dO    dP = dO·vᵀ    dS = P ∘ (dP − rowsum(dP ∘ P)) / sqrt(D)    dQ += dS·k    dK += dSᵀ·q
//
// Legend: BH blocks (batch items × heads, each independent), T tokens, D head size. q, k, v, o and their
// gradients are [BH, T, D], probs is [BH, T, T], all contiguous float32.
//
// The SIMD kernels do every product with `gemm` (assembly/matmul.ts; transposes are swapped strides) and the
// softmax rows, four at a time (softmax.ts), with f32x4 arithmetic and `expf32x4` (assembly/simd-math.ts: plain
// IEEE operations, within 1 ulp; the rows' tails share vectors, and lanes are independent, so every element gets
// the same exp); softmax terms under e^-69 of the row's largest are flushed to 0 (see FLUSH_BELOW). The scalar
// twins are plain loops with Mathf.exp, flushed the same way.
// Determinism: every reduction runs in a fixed order that depends only on T and D, and each block's results
// depend only on that block's q, k, v (and dO), never on BH or on the other blocks.

import { gemm } from './matmul';
import { FLUSH_BELOW, laneSum, softmaxRows } from './softmax';


// ---------------------------------------------------------------------------------------------------------
// Forward

/**
 * o = softmax(q·kᵀ / sqrt(D))·v per block; probs receives the softmax, which the backward needs. An o of 0
 * computes only probs (for a backward that recomputes them). o, q, k, v: [BH, T, D]; probs: [BH, T, T].
 */
export function attentionForward(o: usize, probs: usize, q: usize, k: usize, v: usize, BH: i32, T: i32, D: i32): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  const headBytes = <usize>(T * D) << 2, probsBytes = <usize>(T * T) << 2;
  for (let bh = 0; bh < BH; bh++) {
    const qh = q + <usize>bh * headBytes, kh = k + <usize>bh * headBytes, vh = v + <usize>bh * headBytes;
    const ph = probs + <usize>bh * probsBytes;
    gemm(T, T, D, qh, D, 1, kh, 1, D, ph, T, false); // S = q·kᵀ (unscaled; the scale goes into the softmax)
    softmaxRows(ph, T, T, scale);
    if (o != 0) gemm(T, D, T, ph, T, 1, vh, D, 1, o + <usize>bh * headBytes, D, false); // O = P·v
  }
}

/** The scalar twin of `attentionForward`: plain loops, Mathf.exp (flushed the same way), sums in index order. */
export function attentionForwardScalar(o: usize, probs: usize, q: usize, k: usize, v: usize, BH: i32, T: i32, D: i32): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  for (let bh = 0; bh < BH; bh++) {
    const base = bh * T * D;
    for (let i = 0; i < T; i++) {
      const row = (bh * T + i) * T;
      let max: f32 = -Infinity;
      for (let j = 0; j < T; j++) {
        let s: f32 = 0;
        for (let d = 0; d < D; d++) s += at(q, base + i * D + d) * at(k, base + j * D + d);
        put(probs, row + j, s);
        max = Mathf.max(max, s);
      }
      let sum: f32 = 0;
      for (let j = 0; j < T; j++) {
        const z = (at(probs, row + j) - max) * scale;
        const e: f32 = z < FLUSH_BELOW ? 0 : Mathf.exp(z);
        put(probs, row + j, e);
        sum += e;
      }
      const inv: f32 = 1 / sum;
      for (let j = 0; j < T; j++) put(probs, row + j, at(probs, row + j) * inv);
      for (let d = 0; o != 0 && d < D; d++) {
        let s: f32 = 0;
        for (let j = 0; j < T; j++) s += at(probs, row + j) * at(v, base + j * D + d);
        put(o, base + i * D + d, s);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward

/**
 * Adds the gradients of the loss wrt q, k and v into dq, dk and dv, given dO = dL/dO and the probs saved by
 * `attentionForward`. A gradient pointer of 0 skips that gradient. work: T·T floats of scratch (dP, then dS).
 * dq, dk, dv, dO, q, k, v: [BH, T, D]; probs: [BH, T, T].
 */
export function attentionBackward(
  dq: usize, dk: usize, dv: usize, dO: usize, q: usize, k: usize, v: usize, probs: usize, work: usize,
  BH: i32, T: i32, D: i32,
): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  const headBytes = <usize>(T * D) << 2, probsBytes = <usize>(T * T) << 2;
  for (let bh = 0; bh < BH; bh++) {
    const offset = <usize>bh * headBytes;
    const ph = probs + <usize>bh * probsBytes, dOh = dO + offset;
    if (dv != 0) gemm(T, D, T, ph, 1, T, dOh, D, 1, dv + offset, D, true); // dV += Pᵀ·dO
    if (dq == 0 && dk == 0) continue;
    gemm(T, T, D, dOh, D, 1, v + offset, 1, D, work, T, false); // dP = dO·vᵀ
    for (let i = 0; i < T; i++) {
      softmaxBackwardRow(work + (<usize>(i * T) << 2), ph + (<usize>(i * T) << 2), T, scale);
    }
    if (dq != 0) gemm(T, D, T, work, T, 1, k + offset, D, 1, dq + offset, D, true); // dQ += dS·k
    if (dk != 0) gemm(T, D, T, work, 1, T, q + offset, D, 1, dk + offset, D, true); // dK += dSᵀ·q
  }
}

/** The scalar twin of `attentionBackward`: plain loops, sums in increasing index order. */
export function attentionBackwardScalar(
  dq: usize, dk: usize, dv: usize, dO: usize, q: usize, k: usize, v: usize, probs: usize, work: usize,
  BH: i32, T: i32, D: i32,
): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  for (let bh = 0; bh < BH; bh++) {
    const base = bh * T * D, pBase = bh * T * T;
    if (dv != 0) {
      for (let j = 0; j < T; j++) {
        for (let d = 0; d < D; d++) {
          let s: f32 = 0;
          for (let i = 0; i < T; i++) s += at(probs, pBase + i * T + j) * at(dO, base + i * D + d);
          put(dv, base + j * D + d, at(dv, base + j * D + d) + s);
        }
      }
    }
    if (dq == 0 && dk == 0) continue;
    for (let i = 0; i < T; i++) {
      let rowDot: f32 = 0;
      for (let j = 0; j < T; j++) {
        let s: f32 = 0;
        for (let d = 0; d < D; d++) s += at(dO, base + i * D + d) * at(v, base + j * D + d);
        put(work, i * T + j, s);
        rowDot += s * at(probs, pBase + i * T + j);
      }
      for (let j = 0; j < T; j++) {
        put(work, i * T + j, at(probs, pBase + i * T + j) * (at(work, i * T + j) - rowDot) * scale);
      }
    }
    for (let i = 0; i < T; i++) {
      for (let d = 0; d < D; d++) {
        let sq: f32 = 0, sk: f32 = 0;
        for (let j = 0; j < T; j++) {
          sq += at(work, i * T + j) * at(k, base + j * D + d);
          sk += at(work, j * T + i) * at(q, base + j * D + d);
        }
        if (dq != 0) put(dq, base + i * D + d, at(dq, base + i * D + d) + sq);
        if (dk != 0) put(dk, base + i * D + d, at(dk, base + i * D + d) + sk);
      }
    }
  }
}

/** Turns the row dP (at dp) into dS = P ∘ (dP − <dP, P>)·scale in place; pr is the matching row of P. */
// @ts-ignore: decorator
@inline function softmaxBackwardRow(dp: usize, pr: usize, T: i32, scale: f32): void {
  const T4 = T & ~3;
  let dots = f32x4.splat(0);
  for (let j = 0; j < T4; j += 4) {
    const off = <usize>j << 2;
    dots = f32x4.add(dots, f32x4.mul(v128.load(dp + off), v128.load(pr + off)));
  }
  let rowDot = laneSum(dots);
  for (let j = T4; j < T; j++) rowDot += load<f32>(dp + (<usize>j << 2)) * load<f32>(pr + (<usize>j << 2));

  const rowDot4 = f32x4.splat(rowDot), scale4 = f32x4.splat(scale);
  for (let j = 0; j < T4; j += 4) {
    const off = <usize>j << 2;
    const ds = f32x4.mul(f32x4.mul(v128.load(pr + off), f32x4.sub(v128.load(dp + off), rowDot4)), scale4);
    v128.store(dp + off, ds);
  }
  for (let j = T4; j < T; j++) {
    const off = <usize>j << 2;
    store<f32>(dp + off, load<f32>(pr + off) * (load<f32>(dp + off) - rowDot) * scale);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

// @ts-ignore: decorator
@inline function at(p: usize, index: i32): f32 { return load<f32>(p + (<usize>index << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, index: i32, value: f32): void { store<f32>(p + (<usize>index << 2), value); }
