// Matrix multiplication, the engine under linear layers, convolutions and attention.
//
//   C[M, N] (+)= A[M, K] · B[K, N]          float32
//
// Legend: M rows of C, N columns of C, K the reduction dimension. Every operand is addressed by a base pointer
// and two element strides (row, column), so a transposed operand is just swapped strides: no copies.
//
// The SIMD path follows Goto's blocking: B is packed into KC x NC panels of NR-wide strips, A into MC x KC
// blocks of MR-tall strips, and a 4x8 micro-kernel keeps the C tile in eight v128 accumulators while it walks
// k. Packing is where strides are resolved; operands that are contiguous along k are transposed 4x4 at a time
// with shuffles, so both layouts pack at SIMD speed.
//
// Determinism: every C element is the sum over k in increasing order, block by block (KC), each block added
// to C in order. Edge tiles run the same micro-kernel on zero-padded strips, so the bits of C[i][j] depend
// only on row i of A, column j of B and K, never on M, N or the tile an element falls in.

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;
// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC: i32 = 64;
// @ts-ignore: decorator
@inline const NC: i32 = 1024;

// Packing buffers live in static memory: kernels never allocate.
const packedA: usize = memory.data(MC * KC * 4, 64);
const packedB: usize = memory.data(KC * NC * 4, 64);
const edgeTile: usize = memory.data(MR * NR * 4, 64);

/** Flags of `matmul`: how to read A and B, and whether to add into C instead of overwriting it. */
export const MATMUL_TRANSPOSE_A: i32 = 1;
export const MATMUL_TRANSPOSE_B: i32 = 2;
export const MATMUL_ACCUMULATE: i32 = 4;

// ---------------------------------------------------------------------------------------------------------
// Public kernels

/**
 * C = op(A) · op(B), or C += op(A) · op(B) with MATMUL_ACCUMULATE.
 * A is [M, K] (or [K, M] with MATMUL_TRANSPOSE_A), B is [K, N] (or [N, K] with MATMUL_TRANSPOSE_B), C is [M, N].
 */
export function matmul(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, flags: i32): void {
  const transA = (flags & MATMUL_TRANSPOSE_A) != 0;
  const transB = (flags & MATMUL_TRANSPOSE_B) != 0;
  gemm(M, N, K,
    a, transA ? 1 : K, transA ? M : 1,
    b, transB ? 1 : N, transB ? K : 1,
    c, N, (flags & MATMUL_ACCUMULATE) != 0);
}

/** The scalar twin of `matmul`: same arguments, a plain triple loop summing k in increasing order. */
export function matmulScalar(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, flags: i32): void {
  const transA = (flags & MATMUL_TRANSPOSE_A) != 0;
  const transB = (flags & MATMUL_TRANSPOSE_B) != 0;
  const accumulate = (flags & MATMUL_ACCUMULATE) != 0;
  const aRow = transA ? 1 : K, aCol = transA ? M : 1;
  const bRow = transB ? 1 : N, bCol = transB ? K : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum: f32 = 0;
      for (let k = 0; k < K; k++) {
        sum += load<f32>(a + (<usize>(i * aRow + k * aCol) << 2)) * load<f32>(b + (<usize>(k * bRow + j * bCol) << 2));
      }
      const cij = c + (<usize>(i * N + j) << 2);
      store<f32>(cij, accumulate ? load<f32>(cij) + sum : sum);
    }
  }
}

/** Batched `matmul`: `batch` independent products of contiguous [M,K]·[K,N] blocks (transposes as in `matmul`). */
export function batchMatmul(a: usize, b: usize, c: usize, batch: i32, M: i32, K: i32, N: i32, flags: i32): void {
  const aStride = <usize>(M * K) << 2, bStride = <usize>(K * N) << 2, cStride = <usize>(M * N) << 2;
  for (let i = 0; i < batch; i++) {
    matmul(a + <usize>i * aStride, b + <usize>i * bStride, c + <usize>i * cStride, M, K, N, flags);
  }
}

/** The scalar twin of `batchMatmul`. */
export function batchMatmulScalar(a: usize, b: usize, c: usize, batch: i32, M: i32, K: i32, N: i32, flags: i32): void {
  const aStride = <usize>(M * K) << 2, bStride = <usize>(K * N) << 2, cStride = <usize>(M * N) << 2;
  for (let i = 0; i < batch; i++) {
    matmulScalar(a + <usize>i * aStride, b + <usize>i * bStride, c + <usize>i * cStride, M, K, N, flags);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The blocked driver, shared by every kernel built on matrix products (conv2d, attention, linear).

/**
 * C[M,N] (+)= A·B with A[i][k] at a + 4*(i*aRow + k*aCol) and B[k][j] at b + 4*(k*bRow + j*bCol);
 * C is row-major with leading dimension ldc (elements).
 */
export function gemm(
  M: i32, N: i32, K: i32,
  a: usize, aRow: i32, aCol: i32,
  b: usize, bRow: i32, bCol: i32,
  c: usize, ldc: i32, accumulate: bool,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b + (<usize>(pc * bRow + jc * bCol) << 2), bRow, bCol, kc, nc);
      const addToC = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a + (<usize>(ic * aRow + pc * aCol) << 2), aRow, aCol, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const pb = packedB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const pa = packedA + (<usize>(ir * kc) << 2);
            const cTile = c + (<usize>((ic + ir) * ldc + jc + jr) << 2);
            microKernel(pa, pb, kc, cTile, ldc, rows, cols, addToC);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Packing

/** Packs mc rows x kc columns of A into MR-tall strips: strip s holds, for each k, rows s*MR .. s*MR+3. */
function packA(a: usize, aRow: i32, aCol: i32, mc: i32, kc: i32): void {
  let dst = packedA;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    const src = a + (<usize>(i0 * aRow) << 2);
    if (rows == MR && aCol == 1) {
      // Rows contiguous along k: transpose 4x4 blocks.
      const stride = <usize>aRow << 2;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const p = src + (<usize>k << 2);
        transpose4x4Store(v128.load(p), v128.load(p + stride), v128.load(p + 2 * stride), v128.load(p + 3 * stride), dst);
        dst += 64;
      }
      for (; k < kc; k++) {
        const p = src + (<usize>k << 2);
        store<f32>(dst, load<f32>(p)); store<f32>(dst, load<f32>(p + stride), 4);
        store<f32>(dst, load<f32>(p + 2 * stride), 8); store<f32>(dst, load<f32>(p + 3 * stride), 12);
        dst += 16;
      }
    } else if (rows == MR && aRow == 1) {
      // Columns contiguous along i: one vector load per k.
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src + (<usize>(k * aCol) << 2)));
        dst += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>(r * aRow + k * aCol) << 2)) : 0);
        }
        dst += 16;
      }
    }
  }
}

/** Packs kc rows x nc columns of B into NR-wide strips: strip t holds, for each k, columns t*NR .. t*NR+7. */
function packB(b: usize, bRow: i32, bCol: i32, kc: i32, nc: i32): void {
  let dst = packedB;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    const src = b + (<usize>(j0 * bCol) << 2);
    if (cols == NR && bCol == 1) {
      // Rows contiguous along j: two vector loads per k.
      for (let k = 0; k < kc; k++) {
        const p = src + (<usize>(k * bRow) << 2);
        v128.store(dst, v128.load(p));
        v128.store(dst, v128.load(p, 16), 16);
        dst += 32;
      }
    } else if (cols == NR && bRow == 1) {
      // Columns contiguous along k (a transposed operand): transpose two 4x4 blocks per 4 k.
      const stride = <usize>bCol << 2;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const p = src + (<usize>k << 2);
        const q = p + 4 * stride;
        transpose4x4Store2(
          v128.load(p), v128.load(p + stride), v128.load(p + 2 * stride), v128.load(p + 3 * stride),
          v128.load(q), v128.load(q + stride), v128.load(q + 2 * stride), v128.load(q + 3 * stride), dst);
        dst += 128;
      }
      for (; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>(k + j * bCol) << 2)));
        dst += 32;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(dst + (<usize>j << 2), j < cols ? load<f32>(src + (<usize>(k * bRow + j * bCol) << 2)) : 0);
        }
        dst += 32;
      }
    }
  }
}

/** Writes the transpose of the 4x4 block whose rows are r0..r3: dst[k][r] = r_r[k]. */
// @ts-ignore: decorator
@inline function transpose4x4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dst, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(dst, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

/** Transposes two 4x4 blocks (columns 0-3 from c0..c3, 4-7 from c4..c7) into four 8-wide packed rows. */
// @ts-ignore: decorator
@inline function transpose4x4Store2(
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128, dst: usize,
): void {
  let t0 = f32x4.shuffle(c0, c1, 0, 4, 1, 5);
  let t1 = f32x4.shuffle(c0, c1, 2, 6, 3, 7);
  let t2 = f32x4.shuffle(c2, c3, 0, 4, 1, 5);
  let t3 = f32x4.shuffle(c2, c3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
  v128.store(dst, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
  v128.store(dst, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
  t0 = f32x4.shuffle(c4, c5, 0, 4, 1, 5);
  t1 = f32x4.shuffle(c4, c5, 2, 6, 3, 7);
  t2 = f32x4.shuffle(c6, c7, 0, 4, 1, 5);
  t3 = f32x4.shuffle(c6, c7, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5), 16);
  v128.store(dst, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 48);
  v128.store(dst, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 80);
  v128.store(dst, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 112);
}

// ---------------------------------------------------------------------------------------------------------
// The 4x8 micro-kernel

/**
 * Multiplies an MR x kc packed strip of A by a kc x NR packed strip of B into the C tile at c (leading
 * dimension ldc), storing only `rows` x `cols` of it; adds into C when addToC. Plain mul then add, never fused.
 */
// @ts-ignore: decorator
@inline function microKernel(pa: usize, pb: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, addToC: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    pa += 16;
    pb += 32;
  }
  const ldcBytes = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    storeRow(c, c00, c01, addToC);
    storeRow(c + ldcBytes, c10, c11, addToC);
    storeRow(c + 2 * ldcBytes, c20, c21, addToC);
    storeRow(c + 3 * ldcBytes, c30, c31, addToC);
    return;
  }
  // Edge tile: spill to a scratch tile, then copy (or add) the valid part.
  v128.store(edgeTile, c00); v128.store(edgeTile, c01, 16);
  v128.store(edgeTile, c10, 32); v128.store(edgeTile, c11, 48);
  v128.store(edgeTile, c20, 64); v128.store(edgeTile, c21, 80);
  v128.store(edgeTile, c30, 96); v128.store(edgeTile, c31, 112);
  for (let r = 0; r < rows; r++) {
    const dst = c + <usize>r * ldcBytes;
    const src = edgeTile + (<usize>(r * NR) << 2);
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      const p = dst + (<usize>j << 2);
      store<f32>(p, addToC ? load<f32>(p) + v : v);
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(p: usize, lo: v128, hi: v128, addToC: bool): void {
  if (addToC) {
    v128.store(p, f32x4.add(v128.load(p), lo));
    v128.store(p, f32x4.add(v128.load(p, 16), hi), 16);
  } else {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  }
}
