// 3x3 stride-1 convolution for inference by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2015, "Fast
// Algorithms for Convolutional Neural Networks", eq. 8): each 2x2 block of outputs comes from a 4x4 input tile
//
//   Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A,   y[n,k,oh,ow] = ((Y + b[k]) + cb[n,k]) + res[n,k,oh,ow]
//
// with 16 multiplies per tile and (k, c) instead of direct convolution's 36: 2.25x fewer. It does NOT round
// like conv2d / conv2dPacked (the transforms add and subtract inputs before the products), so the inference path
// runs it only when a pass asks for it (`convolutions: 'winograd'`, bindings/nn/conv2d.ts; the sampling pipelines
// do by default): a pass's own default keeps the training layers' bits.
//
// Legend: xp [N, C, HP, WP] is the input already padded (as groupNormSilu or conv2dPadInput write it), the
// output y [N, K, OH, OW] with OH = HP - 2, OW = WP - 2; tiles of 2x2 outputs, TH = ceil(OH / 2) rows of
// TW = ceil(OW / 2), numbered (n, th, tw) in order; ξ = 4i + j the 16 positions of a 4x4 tile.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1].
//
// Layouts. U (conv2dWinogradPackWeights, once per weight): [ξ][strip][c][8], strips of 8 output channels, channels
// past K zero. Workspace per block of T tiles: V [ξ][c][T] (the transformed inputs), M [ξ][T][KP] (the products
// summed over c; KP = K rounded up to 8), each ξ's matrix SKEW floats further on than its size, and the bias
// padded to KP. Per block: the input transform (up to 4 tiles of one row at a time along the lanes; one by one only
// where the vector loads would pass xp's end), then per ξ the GEMM
// M[ξ] = V[ξ]ᵀ U[ξ] in 4-tile x 8-channel micro-tiles (conv2d-packed-tiles.ts's wideTile, channels along the
// lanes), then the output transform with the epilogue. T is chosen so one ξ's V (C·T floats) stays in L1.
//
// Order of the sums (fixed; SIMD and scalar twin agree bit for bit): every transform as written below
// (left to right), the products summed over c from zero in increasing order, then + b, + cb, + res.
// The over-reads of the SIMD input transform (a tile at an odd edge reads one column or row past the image)
// only reach the outputs past the edge, which are never stored: A's first column never reads V's last.

// @ts-ignore: decorator
@inline const STRIP: i32 = 8;
// Floats between consecutive ξ matrices of V and of M past their size: the 16 matrices of a tile are written
// (V) and read (M) together, and at power-of-two distances they would share cache sets.
// @ts-ignore: decorator
@inline const SKEW: i32 = 32;

/** Floats of U for a [K, C, 3, 3] convolution: 16 transformed matrices of C x KP (KP = K rounded up to 8). */
export function conv2dWinogradWeightsSize(K: i32, C: i32): i32 {
  return 16 * C * paddedK(K);
}

/** Tiles per block: one ξ's V, C·T floats, about 8 KiB (L1), a multiple of 4, from 4 to 256. */
function blockTiles(C: i32): i32 {
  return max(4, min(256, (2048 / C) & ~3));
}

/** Floats of workspace conv2dWinogradForward needs for C input and K output channels. */
export function conv2dWinogradWorkspaceSize(C: i32, K: i32): i32 {
  const T = blockTiles(C);
  return 16 * (C * T + SKEW) + 16 * (T * paddedK(K) + SKEW) + paddedK(K);
}

/**
 * U = G g Gᵀ for each (k, c) of w [K, C, 3, 3], into [ξ][strip][c][8]: each of the 16 entries summed in f64 as
 * Σ_r Σ_s (G[i][r]·G[j][s])·g[r][s] in that order, zero terms included, and rounded to f32 once. A sampling run
 * transforms every weight before its first step, so this is part of a cold start: the 16 sums run as 8 f64x2
 * chains side by side (each lane one entry, in the scalar twin's order), their coefficients from a table.
 */
export function conv2dWinogradPackWeights(u: usize, w: usize, K: i32, C: i32): void {
  const KP = paddedK(K), strips = KP / STRIP, table = weightTransform(), xiStride = strips * C * STRIP;
  for (let k = 0; k < KP; k++) for (let c = 0; c < C; c++) {
    const g = at(w, (k * C + c) * 9), first = ((k / STRIP) * C + c) * STRIP + (k & (STRIP - 1));
    const zero = f64x2.splat(0);
    let v0 = zero, v1 = zero, v2 = zero, v3 = zero, v4 = zero, v5 = zero, v6 = zero, v7 = zero;
    if (k < K) {
      for (let t = 0; t < 9; t++) {
        const gt = f64x2.splat(<f64>get(g, t)), row = table + (<usize>t << 4);
        v0 = f64x2.add(v0, f64x2.mul(v128.load(row, 0 * PAIR_STRIDE), gt));
        v1 = f64x2.add(v1, f64x2.mul(v128.load(row, 1 * PAIR_STRIDE), gt));
        v2 = f64x2.add(v2, f64x2.mul(v128.load(row, 2 * PAIR_STRIDE), gt));
        v3 = f64x2.add(v3, f64x2.mul(v128.load(row, 3 * PAIR_STRIDE), gt));
        v4 = f64x2.add(v4, f64x2.mul(v128.load(row, 4 * PAIR_STRIDE), gt));
        v5 = f64x2.add(v5, f64x2.mul(v128.load(row, 5 * PAIR_STRIDE), gt));
        v6 = f64x2.add(v6, f64x2.mul(v128.load(row, 6 * PAIR_STRIDE), gt));
        v7 = f64x2.add(v7, f64x2.mul(v128.load(row, 7 * PAIR_STRIDE), gt));
      }
    }
    putEntries(u, first, xiStride, 0, v0);
    putEntries(u, first, xiStride, 2, v1);
    putEntries(u, first, xiStride, 4, v2);
    putEntries(u, first, xiStride, 6, v3);
    putEntries(u, first, xiStride, 8, v4);
    putEntries(u, first, xiStride, 10, v5);
    putEntries(u, first, xiStride, 12, v6);
    putEntries(u, first, xiStride, 14, v7);
  }
}

/** Scalar twin of conv2dWinogradPackWeights: the same sums one entry at a time. */
export function conv2dWinogradPackWeightsScalar(u: usize, w: usize, K: i32, C: i32): void {
  const KP = paddedK(K), strips = KP / STRIP, table = weightTransform(), xiStride = strips * C * STRIP;
  for (let k = 0; k < KP; k++) for (let c = 0; c < C; c++) {
    const g = at(w, (k * C + c) * 9), first = ((k / STRIP) * C + c) * STRIP + (k & (STRIP - 1));
    for (let xi = 0; xi < 16; xi++) {
      let v: f64 = 0;
      if (k < K) for (let t = 0; t < 9; t++) v += load<f64>(table + weightTransformIndex(xi, t)) * <f64>get(g, t);
      put(u, first + xi * xiStride, <f32>v);
    }
  }
}

// @ts-ignore: decorator
@inline function putEntries(u: usize, first: i32, xiStride: i32, xi: i32, v: v128): void {
  put(u, first + xi * xiStride, <f32>f64x2.extract_lane(v, 0));
  put(u, first + (xi + 1) * xiStride, <f32>f64x2.extract_lane(v, 1));
}

// The coefficients G[i][r]·G[j][s] of entry ξ = 4i + j and term t = 3r + s, in f64 (exact: products of 1, ±½):
// entries ξ = 2p and 2p + 1 side by side for each t, pair p's 9 terms PAIR_STRIDE bytes after pair p - 1's.
// @ts-ignore: decorator
@inline const PAIR_STRIDE: u32 = 9 * 16;
const WEIGHT_TRANSFORM: usize = memory.data(16 * 9 * 8, 16);
let weightTransformFilled = false;

// @ts-ignore: decorator
@inline function weightTransformIndex(xi: i32, t: i32): usize {
  return (<usize>xi >> 1) * PAIR_STRIDE + (<usize>t << 4) + (<usize>(xi & 1) << 3);
}

function weightTransform(): usize {
  if (!weightTransformFilled) {
    for (let xi = 0; xi < 16; xi++) for (let t = 0; t < 9; t++) {
      store<f64>(WEIGHT_TRANSFORM + weightTransformIndex(xi, t), gEntry(xi >> 2, t / 3) * gEntry(xi & 3, t % 3));
    }
    weightTransformFilled = true;
  }
  return WEIGHT_TRANSFORM;
}

/** G[i][r]. */
function gEntry(i: i32, r: i32): f64 {
  if (i == 0) return r == 0 ? 1 : 0;
  if (i == 3) return r == 2 ? 1 : 0;
  return i == 2 && r == 1 ? -0.5 : 0.5;
}

// ---------------------------------------------------------------------------------------------------------
// The convolution

/**
 * y [N, K, HP - 2, WP - 2] = the 3x3 stride-1 convolution of the padded xp [N, C, HP, WP] with the weights
 * transformed by conv2dWinogradPackWeights, + b, then + cb [N, K], then + res [N, K, OH, OW] (each may be 0).
 * work: conv2dWinogradWorkspaceSize(C, K) floats.
 */
export function conv2dWinogradForward(
  y: usize, xp: usize, u: usize, b: usize, cb: usize, res: usize, work: usize,
  N: i32, C: i32, HP: i32, WP: i32, K: i32,
): void {
  const OH = HP - 2, OW = WP - 2, TH = (OH + 1) >> 1, TW = (OW + 1) >> 1, total = N * TH * TW;
  const T = blockTiles(C), KP = paddedK(K), strips = KP / STRIP;
  const VS = C * T + SKEW, MS = T * KP + SKEW;
  const v = work, m = at(work, 16 * VS), bias = at(m, 16 * MS);
  for (let k = 0; k < KP; k++) put(bias, k, b != 0 && k < K ? get(b, k) : 0);
  const end = at(xp, N * C * HP * WP);
  for (let first = 0; first < total; first += T) {
    const count = min(T, total - first);
    transformInputs(v, xp, end, first, count, T, VS, C, HP, WP, TH, TW);
    for (let xi = 0; xi < 16; xi++) {
      const vx = at(v, xi * VS), mx = at(m, xi * MS);
      for (let strip = 0; strip < strips; strip++) {
        const ux = at(u, (xi * strips + strip) * C * STRIP);
        for (let t = 0; t < count; t += 4) microTile(at(mx, t * KP + strip * STRIP), KP, ux, at(vx, t), T, C);
      }
    }
    transformOutputs(y, m, bias, cb, res, first, count, MS, K, KP, OH, OW, TH, TW);
  }
}

/** The scalar twin of `conv2dWinogradForward`: tile by tile, channel by channel, the same sums in the same order. */
export function conv2dWinogradForwardScalar(
  y: usize, xp: usize, u: usize, b: usize, cb: usize, res: usize, work: usize,
  N: i32, C: i32, HP: i32, WP: i32, K: i32,
): void {
  const OH = HP - 2, OW = WP - 2, KP = paddedK(K), strips = KP / STRIP;
  const d = work, vt = at(work, 16), mt = at(work, 32); // a tile's input, its V, its M for one k
  for (let n = 0; n < N; n++) for (let th = 0; th < (OH + 1) >> 1; th++) for (let tw = 0; tw < (OW + 1) >> 1; tw++) {
    for (let k = 0; k < K; k++) {
      for (let xi = 0; xi < 16; xi++) put(mt, xi, 0);
      for (let c = 0; c < C; c++) {
        const plane = at(xp, (n * C + c) * HP * WP);
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
          const r = 2 * th + i, s = 2 * tw + j;
          put(d, i * 4 + j, r < HP && s < WP ? get(plane, r * WP + s) : 0);
        }
        inputTile(vt, d);
        for (let xi = 0; xi < 16; xi++) {
          const w = get(u, ((xi * strips + k / STRIP) * C + c) * STRIP + (k & (STRIP - 1)));
          put(mt, xi, get(mt, xi) + w * get(vt, xi));
        }
      }
      outputTile(mt);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
        const oh = 2 * th + i, ow = 2 * tw + j;
        if (oh >= OH || ow >= OW) continue;
        let out = get(mt, i * 2 + j) + (b != 0 ? get(b, k) : 0);
        if (cb != 0) out += get(cb, n * K + k);
        if (res != 0) out += get(res, ((n * K + k) * OH + oh) * OW + ow);
        put(y, ((n * K + k) * OH + oh) * OW + ow, out);
      }
    }
  }
}

/** v[16] = Bᵀ d B for one 4x4 tile d[16] (rows first, then columns, as the SIMD transform). */
function inputTile(v: usize, d: usize): void {
  for (let j = 0; j < 4; j++) {
    const d0 = get(d, j), d1 = get(d, 4 + j), d2 = get(d, 8 + j), d3 = get(d, 12 + j);
    put(v, j, d0 - d2); put(v, 4 + j, d1 + d2); put(v, 8 + j, d2 - d1); put(v, 12 + j, d1 - d3);
  }
  for (let i = 0; i < 4; i++) {
    const t0 = get(v, 4 * i), t1 = get(v, 4 * i + 1), t2 = get(v, 4 * i + 2), t3 = get(v, 4 * i + 3);
    put(v, 4 * i, t0 - t2); put(v, 4 * i + 1, t1 + t2); put(v, 4 * i + 2, t2 - t1); put(v, 4 * i + 3, t1 - t3);
  }
}

/** m[0..4) = Aᵀ m A (2x2, row-major) for one 4x4 m[16] (rows first, then columns, as the SIMD transform). */
function outputTile(m: usize): void {
  for (let j = 0; j < 4; j++) {
    const m0 = get(m, j), m1 = get(m, 4 + j), m2 = get(m, 8 + j), m3 = get(m, 12 + j);
    put(m, j, m0 + m1 + m2); put(m, 4 + j, m1 - m2 - m3);
  }
  const s00 = get(m, 0), s01 = get(m, 1), s02 = get(m, 2), s03 = get(m, 3);
  const s10 = get(m, 4), s11 = get(m, 5), s12 = get(m, 6), s13 = get(m, 7);
  put(m, 0, s00 + s01 + s02); put(m, 1, s01 - s02 - s03);
  put(m, 2, s10 + s11 + s12); put(m, 3, s11 - s12 - s13);
}

// ---------------------------------------------------------------------------------------------------------
// The SIMD stages

/** V[ξ][c][slot] for the `count` tiles from tile `first`, slot = tile - first. */
function transformInputs(v: usize, xp: usize, end: usize, first: i32, count: i32, T: i32, VS: i32, C: i32, HP: i32, WP: i32, TH: i32, TW: i32): void {
  const planeBytes = <usize>(HP * WP) << 2;
  // Bytes the SIMD transform reads from a corner: 10 columns of 4 rows in each of the C planes.
  const reach = <usize>((3 + (C - 1) * HP) * WP + 10) << 2;
  let tw = first % TW, rest = first / TW, th = rest % TH, n = rest / TH;
  let slot = 0;
  while (slot < count) {
    const corner = at(xp, (n * C * HP + 2 * th) * WP + 2 * tw);
    // Up to four tiles of one row along the lanes (lanes past the row's end or the block compute garbage from
    // the next row and are not stored); their loads pass the row or the plane only where an odd edge makes the
    // outputs past it (harmless, see the top), and never pass xp's end: there, one tile at a time.
    const lanes = min(4, min(count - slot, TW - tw));
    const simd = corner + reach <= end;
    for (let c = 0; c < C; c++) {
      const p = corner + <usize>c * planeBytes, dst = at(v, c * T + slot);
      if (!simd) inputOne(dst, p, <usize>VS << 2, 2 * th, 2 * tw, HP, WP);
      else if (lanes == 4) inputFour(dst, p, <usize>WP << 2, <usize>VS << 2, 4); // inlined with whole-vector stores
      else inputFour(dst, p, <usize>WP << 2, <usize>VS << 2, lanes);
    }
    const step = simd ? lanes : 1;
    slot += step;
    tw += step;
    if (tw == TW) { tw = 0; th++; if (th == TH) { th = 0; n++; } }
  }
}

/**
 * One row's 4 tiles from p (4 rows of 10 floats): Bᵀ d B with the tiles along the lanes, ξ stride xs bytes;
 * the first `lanes` tiles stored.
 */
// @ts-ignore: decorator
@inline function inputFour(dst: usize, p: usize, row: usize, xs: usize, lanes: i32): void {
  // Per input row r, its 4 columns j as vectors over the tiles: columns 2t + j of the row.
  let a = v128.load(p), b = v128.load(p, 16), a2 = v128.load(p, 8), b2 = v128.load(p, 24);
  const d00 = f32x4.shuffle(a, b, 0, 2, 4, 6), d01 = f32x4.shuffle(a, b, 1, 3, 5, 7);
  const d02 = f32x4.shuffle(a2, b2, 0, 2, 4, 6), d03 = f32x4.shuffle(a2, b2, 1, 3, 5, 7);
  p += row; a = v128.load(p); b = v128.load(p, 16); a2 = v128.load(p, 8); b2 = v128.load(p, 24);
  const d10 = f32x4.shuffle(a, b, 0, 2, 4, 6), d11 = f32x4.shuffle(a, b, 1, 3, 5, 7);
  const d12 = f32x4.shuffle(a2, b2, 0, 2, 4, 6), d13 = f32x4.shuffle(a2, b2, 1, 3, 5, 7);
  p += row; a = v128.load(p); b = v128.load(p, 16); a2 = v128.load(p, 8); b2 = v128.load(p, 24);
  const d20 = f32x4.shuffle(a, b, 0, 2, 4, 6), d21 = f32x4.shuffle(a, b, 1, 3, 5, 7);
  const d22 = f32x4.shuffle(a2, b2, 0, 2, 4, 6), d23 = f32x4.shuffle(a2, b2, 1, 3, 5, 7);
  p += row; a = v128.load(p); b = v128.load(p, 16); a2 = v128.load(p, 8); b2 = v128.load(p, 24);
  const d30 = f32x4.shuffle(a, b, 0, 2, 4, 6), d31 = f32x4.shuffle(a, b, 1, 3, 5, 7);
  const d32 = f32x4.shuffle(a2, b2, 0, 2, 4, 6), d33 = f32x4.shuffle(a2, b2, 1, 3, 5, 7);
  // Rows: Bᵀ d.
  inputRow(dst, xs, lanes, 0, f32x4.sub(d00, d20), f32x4.sub(d01, d21), f32x4.sub(d02, d22), f32x4.sub(d03, d23));
  inputRow(dst, xs, lanes, 1, f32x4.add(d10, d20), f32x4.add(d11, d21), f32x4.add(d12, d22), f32x4.add(d13, d23));
  inputRow(dst, xs, lanes, 2, f32x4.sub(d20, d10), f32x4.sub(d21, d11), f32x4.sub(d22, d12), f32x4.sub(d23, d13));
  inputRow(dst, xs, lanes, 3, f32x4.sub(d10, d30), f32x4.sub(d11, d31), f32x4.sub(d12, d32), f32x4.sub(d13, d33));
}

/** Columns of row i of Bᵀ d: (Bᵀ d B)[i][j] stored at ξ = 4i + j. */
// @ts-ignore: decorator
@inline function inputRow(dst: usize, xs: usize, lanes: i32, i: i32, t0: v128, t1: v128, t2: v128, t3: v128): void {
  const o = dst + <usize>(4 * i) * xs;
  storeLanes(o, f32x4.sub(t0, t2), lanes);
  storeLanes(o + xs, f32x4.add(t1, t2), lanes);
  storeLanes(o + 2 * xs, f32x4.sub(t2, t1), lanes);
  storeLanes(o + 3 * xs, f32x4.sub(t1, t3), lanes);
}

/** The first `lanes` lanes of v at p. */
// @ts-ignore: decorator
@inline function storeLanes(p: usize, v: v128, lanes: i32): void {
  if (lanes == 4) { v128.store(p, v); return; }
  v128.store32_lane(p, v, 0);
  if (lanes > 1) v128.store32_lane(p, v, 1, 4);
  if (lanes > 2) v128.store32_lane(p, v, 2, 8);
}

/** One tile at (r0, s0) of the plane at p - its corner's offset, zeros past the plane; as the scalar twin. */
function inputOne(dst: usize, p: usize, xs: usize, r0: i32, s0: i32, HP: i32, WP: i32): void {
  const d = memory.data(32 * 4, 16), vt = d + 64;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    put(d, i * 4 + j, r0 + i < HP && s0 + j < WP ? get(p, i * WP + j) : 0);
  }
  inputTile(vt, d);
  for (let xi = 0; xi < 16; xi++) store<f32>(dst + <usize>xi * xs, get(vt, xi));
}

/**
 * m[4 tiles][8 channels] (rows KP floats apart) = Σ_c v[c][tile] · u[c][8], from zero in increasing c: 8
 * accumulators (tile i, channel half h), per c two weight vectors and four broadcast inputs (v rows T floats apart).
 */
// @ts-ignore: decorator
@inline function microTile(m: usize, KP: i32, u: usize, v: usize, T: i32, C: i32): void {
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const vs = <usize>T << 2, end = u + (<usize>C << 5);
  do {
    const w0 = v128.load(u), w1 = v128.load(u, 16);
    let x = v128.load32_splat(v); a00 = f32x4.add(a00, f32x4.mul(w0, x)); a01 = f32x4.add(a01, f32x4.mul(w1, x));
    x = v128.load32_splat(v, 4); a10 = f32x4.add(a10, f32x4.mul(w0, x)); a11 = f32x4.add(a11, f32x4.mul(w1, x));
    x = v128.load32_splat(v, 8); a20 = f32x4.add(a20, f32x4.mul(w0, x)); a21 = f32x4.add(a21, f32x4.mul(w1, x));
    x = v128.load32_splat(v, 12); a30 = f32x4.add(a30, f32x4.mul(w0, x)); a31 = f32x4.add(a31, f32x4.mul(w1, x));
    u += 32;
    v += vs;
  } while (u < end);
  const row = <usize>KP << 2;
  v128.store(m, a00); v128.store(m, a01, 16);
  v128.store(m + row, a10); v128.store(m + row, a11, 16);
  v128.store(m + 2 * row, a20); v128.store(m + 2 * row, a21, 16);
  v128.store(m + 3 * row, a30); v128.store(m + 3 * row, a31, 16);
}

/** Y = Aᵀ M A per tile and 4 channels along the lanes, + bias, then the epilogue as each output is stored. */
function transformOutputs(y: usize, m: usize, bias: usize, cb: usize, res: usize, first: i32, count: i32, MS: i32,
  K: i32, KP: i32, OH: i32, OW: i32, TH: i32, TW: i32): void {
  const out = memory.data(16 * 4, 16), xs = <usize>MS << 2, P = OH * OW;
  let tw = first % TW, rest = first / TW, th = rest % TH, n = rest / TH;
  for (let slot = 0; slot < count; slot++) {
    const oh = 2 * th, ow = 2 * tw, rows = min(2, OH - oh), cols = min(2, OW - ow);
    for (let k0 = 0; k0 < K; k0 += 4) {
      const p = at(m, slot * KP + k0);
      // Rows: Aᵀ M.
      const m00 = v128.load(p), m01 = v128.load(p + xs), m02 = v128.load(p + 2 * xs), m03 = v128.load(p + 3 * xs);
      const m10 = v128.load(p + 4 * xs), m11 = v128.load(p + 5 * xs), m12 = v128.load(p + 6 * xs), m13 = v128.load(p + 7 * xs);
      const m20 = v128.load(p + 8 * xs), m21 = v128.load(p + 9 * xs), m22 = v128.load(p + 10 * xs), m23 = v128.load(p + 11 * xs);
      const m30 = v128.load(p + 12 * xs), m31 = v128.load(p + 13 * xs), m32 = v128.load(p + 14 * xs), m33 = v128.load(p + 15 * xs);
      const s00 = f32x4.add(f32x4.add(m00, m10), m20), s01 = f32x4.add(f32x4.add(m01, m11), m21);
      const s02 = f32x4.add(f32x4.add(m02, m12), m22), s03 = f32x4.add(f32x4.add(m03, m13), m23);
      const s10 = f32x4.sub(f32x4.sub(m10, m20), m30), s11 = f32x4.sub(f32x4.sub(m11, m21), m31);
      const s12 = f32x4.sub(f32x4.sub(m12, m22), m32), s13 = f32x4.sub(f32x4.sub(m13, m23), m33);
      // Columns, then the bias: out [position][4 channels].
      const bk = v128.load(at(bias, k0));
      v128.store(out, f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), bk));
      v128.store(out, f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), bk), 16);
      v128.store(out, f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), bk), 32);
      v128.store(out, f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), bk), 48);
      if (rows == 2 && cols == 2 && k0 + 4 <= K) {
        storeWholeTile(y, out, cb, res, n * K + k0, P, oh * OW + ow, OW);
        continue;
      }
      for (let k = k0; k < min(k0 + 4, K); k++) {
        const c = cb != 0 ? get(cb, n * K + k) : 0, plane = (n * K + k) * P;
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
          const o = plane + (oh + i) * OW + ow + j;
          let value = get(out, (i * 2 + j) * 4 + k - k0);
          if (cb != 0) value += c;
          if (res != 0) value += get(res, o);
          put(y, o, value);
        }
      }
    }
    tw++;
    if (tw == TW) { tw = 0; th++; if (th == TH) { th = 0; n++; } }
  }
}

/**
 * A whole 2x2 tile of 4 channels from out [position][channel]: transposed to one vector per channel (its 2x2
 * outputs), + cb, + res, stored as two pairs of floats (planes P floats apart from channel nk; pixel o, rows OW apart).
 */
// @ts-ignore: decorator
@inline function storeWholeTile(y: usize, out: usize, cb: usize, res: usize, nk: i32, P: i32, o: i32, OW: i32): void {
  const r0 = v128.load(out), r1 = v128.load(out, 16), r2 = v128.load(out, 32), r3 = v128.load(out, 48);
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  storePair(y, cb, res, nk, P, o, OW, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  storePair(y, cb, res, nk + 1, P, o, OW, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  storePair(y, cb, res, nk + 2, P, o, OW, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  storePair(y, cb, res, nk + 3, P, o, OW, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function storePair(y: usize, cb: usize, res: usize, nk: i32, P: i32, o: i32, OW: i32, v: v128): void {
  const top = at(y, nk * P + o), bottom = top + (<usize>OW << 2);
  if (cb != 0) v = f32x4.add(v, v128.load32_splat(at(cb, nk)));
  if (res != 0) {
    const r = top - y + res;
    v = f32x4.add(v, v128.load64_lane(r + (<usize>OW << 2), v128.load64_zero(r), 1));
  }
  v128.store64_lane(top, v, 0);
  v128.store64_lane(bottom, v, 1);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

// @ts-ignore: decorator
@inline function paddedK(K: i32): i32 { return (K + STRIP - 1) & ~(STRIP - 1); }

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
