// Self-attention on the channel-major feature maps of a U-Net, for inference (forward only):
//
//   per sample n and head h:  S = q·kᵀ,  P = softmax(S / sqrt(D)) along rows,  O = P·v,  written as Oᵀ
//
// Legend: N samples, H heads, D head size, C = H·D, T positions (tokens); qkv [N, 3C, T] holds q, k and v as
// channels (a 1x1 convolution's output; head h owns channels h·D .. h·D + D - 1 of each), o [N, C, T]. So
// q, k, v of a head are qᵀ, kᵀ, vᵀ [D, T] and the result Oᵀ [D, T] feeds the output projection as it is.
// work: attentionChannelsWorkspaceSize(T) floats (one head's probabilities).
//
// The products are gemm's (matmul.ts), reading the transposed operands through its strides, and the softmax rows
// are softmax.ts's (four rows at a time), so o has exactly the bits of attentionForward (attention.ts) on
// [N, H, T, D] tensors. At the U-Net's 7x7 (T = 49, D = 16) the softmax's 49² exponentials cost about as much as
// both products; a direct kernel for the products (4 x 8 tiles straight from this layout, no packing) was measured
// no faster, and so were the four rows' exponentials interleaved.
import { gemm } from './matmul';
import { FLUSH_BELOW, softmaxRows } from './softmax';

/** Floats of work attentionChannelsForward needs for T positions. */
export function attentionChannelsWorkspaceSize(T: i32): i32 {
  return T * T;
}

/** o [N, C, T] = softmax(q·kᵀ / sqrt(D))·v per sample and head, in the channel-major layout (see above). */
export function attentionChannelsForward(o: usize, qkv: usize, work: usize, N: i32, heads: i32, T: i32, D: i32): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  const C = heads * D;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const q = at(qkv, (3 * n * C + h * D) * T), k = at(q, C * T), v = at(k, C * T);
      gemm(T, T, D, q, 1, T, k, T, 1, work, T, false); // S = q·kᵀ from qᵀ [D, T] and kᵀ [D, T]
      softmaxRows(work, T, T, scale);
      gemm(D, T, T, v, T, 1, work, 1, T, at(o, (n * C + h * D) * T), T, false); // Oᵀ = vᵀ·Pᵀ
    }
  }
}

/** The scalar twin of `attentionChannelsForward`: plain loops, Mathf.exp (flushed the same way), sums in order. */
export function attentionChannelsForwardScalar(o: usize, qkv: usize, work: usize, N: i32, heads: i32, T: i32, D: i32): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  const C = heads * D;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const q = (3 * n * C + h * D) * T, k = q + C * T, v = k + C * T, out = (n * C + h * D) * T;
      for (let i = 0; i < T; i++) {
        let max: f32 = -Infinity;
        for (let j = 0; j < T; j++) {
          let sum: f32 = 0;
          for (let d = 0; d < D; d++) sum += get(qkv, q + d * T + i) * get(qkv, k + d * T + j);
          put(work, j, sum);
          max = Mathf.max(max, sum);
        }
        let total: f32 = 0;
        for (let j = 0; j < T; j++) {
          const z = (get(work, j) - max) * scale;
          const e: f32 = z < FLUSH_BELOW ? 0 : Mathf.exp(z);
          put(work, j, e);
          total += e;
        }
        const inv: f32 = 1 / total;
        for (let j = 0; j < T; j++) put(work, j, get(work, j) * inv);
        for (let d = 0; d < D; d++) {
          let sum: f32 = 0;
          for (let j = 0; j < T; j++) sum += get(work, j) * get(qkv, v + d * T + j);
          put(o, out + d * T + i, sum);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
