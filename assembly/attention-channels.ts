// Self-attention on the channel-major feature maps of a U-Net, for inference (forward only):
//
//   per sample n and head h:  S = q·kᵀ,  P = softmax(S / sqrt(D)) along rows,  O = P·v,  written as Oᵀ
//
// Legend: N samples, H heads, D head size, C = H·D, T positions (tokens); qkv [N, 3C, T] holds q, k and v as
// channels (a 1x1 convolution's output; head h owns channels h·D .. h·D + D - 1 of each), o [N, C, T]. So
// q, k, v of a head are qᵀ, kᵀ, vᵀ [D, T] and the result Oᵀ [D, T] feeds the output projection as it is.
// work: attentionChannelsWorkspaceSize(T) floats (S, then Pᵀ, rows padded to a multiple of 8).
//
// The sums are attentionForward's (attention.ts, through gemm): S[i][j] = Σ_d q[i][d]·k[j][d] over d in
// order from zero, the softmax row of softmax.ts, Oᵀ[d][i] = Σ_j v[j][d]·P[i][j] over j in order from zero (one
// block of 256 at a time, as gemm's KC), so o has exactly the bits of attentionForward on [N, H, T, D] tensors.
// The products are computed directly from the layout, 4 x 8 tiles with 8 accumulators (no packing, whose cost
// would be as large as the products at T = 49, D = 16).
import { FLUSH_BELOW, softmaxRow } from './softmax';

/** gemm's reduction block (matmul.ts): sums longer than this are added block by block. */
// @ts-ignore: decorator
@inline const KC: i32 = 256;

/** Floats of work attentionChannelsForward needs for T positions. */
export function attentionChannelsWorkspaceSize(T: i32): i32 {
  return 2 * T * padded(T);
}

/** o [N, C, T] = softmax(q·kᵀ / sqrt(D))·v per sample and head, in the channel-major layout (see above). */
export function attentionChannelsForward(o: usize, qkv: usize, work: usize, N: i32, heads: i32, T: i32, D: i32): void {
  const scale = <f32>(1 / Math.sqrt(<f64>D));
  const C = heads * D, TP = padded(T);
  const s = work, pt = at(work, T * TP);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const q = at(qkv, (3 * n * C + h * D) * T), k = at(q, C * T), v = at(k, C * T);
      scores(s, q, k, T, TP, D);
      for (let i = 0; i < T; i++) softmaxRow(at(s, i * TP), T, scale);
      transpose(pt, s, T, TP);
      weightedValues(at(o, (n * C + h * D) * T), v, pt, T, TP, D);
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

/**
 * s[i][j] (rows of TP) = Σ_d qᵀ[d][i]·kᵀ[d][j]: tiles of 4 rows i x 8 lanes j. Lanes past T compute from the
 * next row's floats and land in the row's padding; rows past T are read from row T - 1 and not stored.
 */
function scores(s: usize, q: usize, k: usize, T: i32, TP: i32, D: i32): void {
  const rowBytes = <usize>T << 2;
  for (let i = 0; i < T; i += 4) {
    const i1 = min(i + 1, T - 1), i2 = min(i + 2, T - 1), i3 = min(i + 3, T - 1);
    for (let j = 0; j < T; j += 8) {
      const row = at(s, i * TP + j);
      for (let d0 = 0; d0 < D; d0 += KC) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let kp = at(k, d0 * T + j), qp = at(q, d0 * T);
        for (let d = d0; d < min(d0 + KC, D); d++) {
          const k0 = v128.load(kp), k1 = v128.load(kp, 16);
          let x = v128.load32_splat(at(qp, i)); a00 = f32x4.add(a00, f32x4.mul(x, k0)); a01 = f32x4.add(a01, f32x4.mul(x, k1));
          x = v128.load32_splat(at(qp, i1)); a10 = f32x4.add(a10, f32x4.mul(x, k0)); a11 = f32x4.add(a11, f32x4.mul(x, k1));
          x = v128.load32_splat(at(qp, i2)); a20 = f32x4.add(a20, f32x4.mul(x, k0)); a21 = f32x4.add(a21, f32x4.mul(x, k1));
          x = v128.load32_splat(at(qp, i3)); a30 = f32x4.add(a30, f32x4.mul(x, k0)); a31 = f32x4.add(a31, f32x4.mul(x, k1));
          kp += rowBytes;
          qp += rowBytes;
        }
        const first = d0 == 0;
        addRow(row, a00, a01, 8, first);
        if (i + 1 < T) addRow(at(row, TP), a10, a11, 8, first);
        if (i + 2 < T) addRow(at(row, 2 * TP), a20, a21, 8, first);
        if (i + 3 < T) addRow(at(row, 3 * TP), a30, a31, 8, first);
      }
    }
  }
}

/** pt[j][i] = p[i][j] for i, j < T (rows of TP; the padding of pt's rows is zeroed). */
function transpose(pt: usize, p: usize, T: i32, TP: i32): void {
  for (let j = 0; j < T; j++) {
    const row = at(pt, j * TP);
    for (let i = 0; i < T; i++) put(row, i, get(p, i * TP + j));
    for (let i = T; i < TP; i++) put(row, i, 0);
  }
}

/**
 * oᵀ[d][i] = Σ_j vᵀ[d][j]·pᵀ[j][i]: tiles of 4 rows d x 8 lanes i. Rows past D are read from row D - 1 and not
 * stored; lanes past T are stored one by one, only those inside the row.
 */
function weightedValues(o: usize, v: usize, pt: usize, T: i32, TP: i32, D: i32): void {
  for (let d = 0; d < D; d += 4) {
    const v0 = at(v, d * T), v1 = at(v, min(d + 1, D - 1) * T), v2 = at(v, min(d + 2, D - 1) * T), v3 = at(v, min(d + 3, D - 1) * T);
    for (let i = 0; i < T; i += 8) for (let j0 = 0; j0 < T; j0 += KC) {
      let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      let pp = at(pt, j0 * TP + i), vp = <usize>j0 << 2;
      for (let j = j0; j < min(j0 + KC, T); j++) {
        const p0 = v128.load(pp), p1 = v128.load(pp, 16);
        let x = v128.load32_splat(v0 + vp); a00 = f32x4.add(a00, f32x4.mul(x, p0)); a01 = f32x4.add(a01, f32x4.mul(x, p1));
        x = v128.load32_splat(v1 + vp); a10 = f32x4.add(a10, f32x4.mul(x, p0)); a11 = f32x4.add(a11, f32x4.mul(x, p1));
        x = v128.load32_splat(v2 + vp); a20 = f32x4.add(a20, f32x4.mul(x, p0)); a21 = f32x4.add(a21, f32x4.mul(x, p1));
        x = v128.load32_splat(v3 + vp); a30 = f32x4.add(a30, f32x4.mul(x, p0)); a31 = f32x4.add(a31, f32x4.mul(x, p1));
        pp += <usize>TP << 2;
        vp += 4;
      }
      const count = T - i, first = j0 == 0;
      addRow(at(o, d * T + i), a00, a01, count, first);
      if (d + 1 < D) addRow(at(o, (d + 1) * T + i), a10, a11, count, first);
      if (d + 2 < D) addRow(at(o, (d + 2) * T + i), a20, a21, count, first);
      if (d + 3 < D) addRow(at(o, (d + 3) * T + i), a30, a31, count, first);
    }
  }
}

/**
 * The first min(8, count) of the 8 lanes lo, hi into p: stored (the first block of a sum) or added to what p holds
 * (the next blocks, as gemm adds its KC blocks).
 */
// @ts-ignore: decorator
@inline function addRow(p: usize, lo: v128, hi: v128, count: i32, first: bool): void {
  if (count >= 8) {
    v128.store(p, first ? lo : f32x4.add(v128.load(p), lo));
    v128.store(p, first ? hi : f32x4.add(v128.load(p, 16), hi), 16);
    return;
  }
  for (let lane = 0; lane < count; lane++) {
    const v = lane < 4 ? lo : hi, l = lane & 3;
    const x = l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    put(p, lane, first ? x : get(p, lane) + x);
  }
}

/** T rounded up to a multiple of 8 (a row of S or Pᵀ). */
// @ts-ignore: decorator
@inline function padded(T: i32): i32 { return (T + 7) & ~7; }

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
