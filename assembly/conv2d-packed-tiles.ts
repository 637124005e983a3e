// The tile kernels behind conv2d-packed.ts (see there for the layouts, the summation order and the choice of
// kernel), and the geometry of the current call they share. Not wasm exports: index.ts does not re-export this file.

import { rowPairTile } from './conv2d-packed-pairs';
import { addChannelBiasAndResidual, planeConv3x3 } from './conv2d-packed-planes';
import { gemm } from './matmul';

// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline export const PACKED_STRIP: i32 = 8;
// @ts-ignore: decorator
@inline const STRIP: i32 = PACKED_STRIP;

// Static scratch (kernels allocate nothing): a tile's running sums, and a strip's bias.
const tileSums: usize = memory.data(128 * 4, 16);
const stripBias: usize = memory.data(STRIP * 4, 16);
/** Kernels of at most this many taps per input channel (R·S): 16x16. */
// @ts-ignore: decorator
@inline const CONV_PACKED_MAX_TAPS: i32 = 256;
// tapSteps[i]: bytes from tap i to tap i + 1 within the periodic pattern of a channel's taps, repeated so that a
// block starting at any phase reads KC steps straight on (no modulo in the tap loops).
const tapSteps: usize = memory.data((CONV_PACKED_MAX_TAPS + KC) * 4, 16);
/** At most this many taps in all (C·R·S): 256 blocks of KC. */
// @ts-ignore: decorator
@inline const CONV_PACKED_MAX_BLOCKS: i32 = 256;
// Per block of KC taps: the byte offset of its first tap from a pixel's corner, and where its steps start.
const blockOffsets: usize = memory.data(CONV_PACKED_MAX_BLOCKS * 4, 16);
const blockSteps: usize = memory.data(CONV_PACKED_MAX_BLOCKS * 4, 16);
// A group of GROUP_TILES tiles of 4 pixels: each pixel's corner, and each tile's first (n, p) and valid count.
// @ts-ignore: decorator
@inline const GROUP_TILES: i32 = 32;
const groupCorners: usize = memory.data(GROUP_TILES * 4 * 4, 16);
const groupTiles: usize = memory.data(GROUP_TILES * 3 * 4, 16);

// ---------------------------------------------------------------------------------------------------------
// The sizes of the current call and those derived from them, in globals (kernels allocate nothing, and an
// AssemblyScript object would take memory from the JavaScript allocator).
let N = 0, C = 0, HP = 0, WP = 0, K = 0, R = 0, S = 0, stride = 0, OH = 0, OW = 0, P = 0, RS = 0, CRS = 0;
/** The output size of the current call, for the scalar twin's loops. */
export let OUT_H = 0, OUT_W = 0;

export function setSizes(n: i32, c: i32, hp: i32, wp: i32, k: i32, r: i32, s: i32, step: i32): void {
  N = n; C = c; HP = hp; WP = wp; K = k; R = r; S = s; stride = step;
  OH = (hp - r) / step + 1;
  OW = (wp - s) / step + 1;
  P = OH * OW;
  OUT_H = OH;
  OUT_W = OW;
  RS = r * s;
  CRS = c * RS;
}

/**
 * Fills tapSteps, blockOffsets and blockSteps for the current sizes: the tables of the tiles that walk taps
 * one at a time (wideTile, narrowTile). The row-pair and plane tiles and gemm read none, so a call that
 * only runs those (conv_out with an even number of rows, conv_in, 1x1 convolutions) skips this loop:
 * measured, it was about 0.4 µs of a 0.7 µs conv_out call on a 4x4 image, 4% of one on 28x28.
 */
function setTapSteps(): void {
  // From tap (ri, si) of a channel to the next one: the next s, the next row, or the next channel. Counted
  // rather than divided. A block starts at phase t0 % RS <= t0 and spans at most min(KC, CRS - t0) taps: it
  // reads steps below min(CRS, RS + KC), and only those are filled.
  const toRow = <u32>(WP - (S - 1)) << 2, toChannel = <u32>((HP - (R - 1)) * WP - (S - 1)) << 2;
  const steps = min(CRS, RS + KC);
  for (let i = 0, ri = 0, si = 0; i < steps; i++) {
    store<u32>(tapSteps + (<usize>i << 2), si < S - 1 ? 4 : ri < R - 1 ? toRow : toChannel);
    if (++si == S) {
      si = 0;
      if (++ri == R) ri = 0;
    }
  }
  for (let t0 = 0, block = 0; t0 < CRS; t0 += KC, block++) {
    store<u32>(blockOffsets + (<usize>block << 2), <u32>tapOffset(t0));
    store<u32>(blockSteps + (<usize>block << 2), <u32>(tapSteps + (<usize>(t0 % RS) << 2)));
  }
}

/**
 * The convolution for the sizes set by setSizes. Measured on the U-Net's shapes: gemm wins for 1x1 convolutions
 * (its packed panels beat broadcasts from the channel planes), pixels along the lanes for few output channels and
 * short patches, the plane tile (conv2d-packed-planes.ts) for a 3x3 conv_in from 1-3 channels (1.1-1.9x the
 * narrow tiles there, the fewer channels the more; from 5 input channels it was slower), channel strips elsewhere.
 */
export function convolve(y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize): void {
  if (K <= 4) narrowConv(y, xp, packed, b, cb, res);
  else if (RS == 1) pointwiseConv(y, xp, packed, b, cb, res);
  else if (C <= 3 && R == 3 && S == 3 && stride == 1 && OW >= 4) {
    planeConv3x3(y, xp, packed, b, cb, res, N, C, HP, WP, K);
  } else if (CRS < 64) narrowConv(y, xp, packed, b, cb, res);
  else wideConv(y, xp, packed, b, cb, res);
}

/** Byte offset in xp of tap t from its pixel's corner. */
function tapOffset(t: i32): usize {
  const c = t / RS, rs = t - c * RS, r = rs / S, s = rs - r * S;
  return <usize>((c * HP + r) * WP + s) << 2;
}

/** Address in xp of the receptive field's corner of output pixel (n, oh, ow). */
// @ts-ignore: decorator
@inline function corner(xp: usize, n: i32, oh: i32, ow: i32): usize {
  return at(xp, (n * C * HP + oh * stride) * WP + ow * stride);
}

/** One output of the scalar twin (also the SIMD kernels' path for rows narrower than a vector). */
export function scalarOutput(xp: usize, packed: usize, b: usize, cb: usize, res: usize, n: i32, k: i32, oh: i32, ow: i32): f32 {
  const base = corner(xp, n, oh, ow);
  let total: f32 = b != 0 ? get(b, k) : 0;
  for (let t0 = 0; t0 < CRS; t0 += KC) {
    let sum: f32 = 0;
    for (let t = t0; t < min(t0 + KC, CRS); t++) sum += packedWeight(packed, k, t) * load<f32>(base + tapOffset(t));
    total += sum;
  }
  if (cb != 0) total += get(cb, n * K + k);
  if (res != 0) total += get(res, (n * K + k) * P + oh * OW + ow);
  return total;
}

// @ts-ignore: decorator
@inline function packedWeight(packed: usize, k: i32, t: i32): f32 {
  if (K <= 4) return get(packed, t * K + k);
  if (RS == 1) return get(packed, k * CRS + t);
  return get(packed, ((k / STRIP) * CRS + t) * STRIP + (k & (STRIP - 1)));
}

// ---------------------------------------------------------------------------------------------------------
// 1x1, K > 4: per image, gemm on the plane [C, P] as conv2dForward does, then the epilogue while y[n] is in cache

function pointwiseConv(y: usize, xp: usize, w: usize, b: usize, cb: usize, res: usize): void {
  for (let n = 0; n < N; n++) {
    const yn = at(y, n * K * P), xn = at(xp, n * C * HP * WP);
    if (b != 0) for (let k = 0; k < K; k++) fillRun(at(yn, k * P), get(b, k), P);
    // Stride 1: the plane is one row (see conv2dPackedForward); a larger stride reads each output row's inputs
    // through gemm's column stride.
    for (let oh = 0; oh < OH; oh++) {
      gemm(K, OW, C, w, C, 1, at(xn, oh * stride * WP), HP * WP, stride, at(yn, oh * OW), P, b != 0);
    }
    if (cb == 0 && res == 0) continue;
    for (let k = 0; k < K; k++) {
      const channel = cb != 0 ? at(cb, n * K + k) : 0, residual = res != 0 ? at(res, (n * K + k) * P) : 0;
      addChannelBiasAndResidual(at(yn, k * P), channel, residual, P);
    }
  }
}

/** p[0 .. count) = value. */
// @ts-ignore: decorator
@inline function fillRun(p: usize, value: f32, count: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(p, i), v);
  for (; i < count; i++) put(p, i, value);
}

// ---------------------------------------------------------------------------------------------------------
// K > 4: tiles of 4 pixels x 8 channels

function wideConv(y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize): void {
  setTapSteps();
  const total = N * P, strips = (K + STRIP - 1) / STRIP;
  // Groups of GROUP_TILES tiles: per group and strip, the strip's weights stay in cache across the tiles, and
  // each tile's pixels are located once per group.
  for (let first = 0; first < total; first += 4 * GROUP_TILES) {
    const tiles = min(GROUP_TILES, (total - first + 3) >> 2);
    locateGroup(xp, first, tiles, total);
    for (let strip = 0; strip < strips; strip++) {
      loadStripBias(b, K, strip);
      const w = at(packed, strip * CRS * STRIP);
      for (let tile = 0; tile < tiles; tile++) {
        const corners = groupCorners + (<usize>tile << 4), info = groupTiles + (<usize>(tile * 3) << 2);
        wideTile(w, load<u32>(corners), load<u32>(corners, 4), load<u32>(corners, 8), load<u32>(corners, 12));
        storeWideTile(y, cb, res, strip, load<i32>(info), load<i32>(info, 4), load<i32>(info, 8));
      }
    }
  }
}

/** Fills groupCorners and groupTiles for the `tiles` tiles from pixel `first` (a missing pixel repeats the first). */
function locateGroup(xp: usize, first: i32, tiles: i32, total: i32): void {
  let n = first / P, p = first - n * P;
  for (let tile = 0; tile < tiles; tile++) {
    const q = first + 4 * tile, valid = min(4, total - q);
    const info = groupTiles + (<usize>(tile * 3) << 2);
    store<i32>(info, n); store<i32>(info, p, 4); store<i32>(info, valid, 8);
    const c0 = pixelCorner(xp, n, p);
    for (let i = 0; i < 4; i++) {
      store<u32>(groupCorners + (<usize>(tile * 4 + i) << 2), <u32>(i < valid ? pixelCorner(xp, n + (p + i) / P, (p + i) % P) : c0));
    }
    p += 4;
    while (p >= P) { p -= P; n++; }
  }
}

// @ts-ignore: decorator
@inline function pixelCorner(xp: usize, n: i32, p: i32): usize {
  const oh = p / OW;
  return corner(xp, n, oh, p - oh * OW);
}

function loadStripBias(b: usize, K: i32, strip: i32): void {
  for (let j = 0; j < STRIP; j++) {
    const k = strip * STRIP + j;
    put(stripBias, j, b != 0 && k < K ? get(b, k) : 0);
  }
}

/**
 * The 4-pixel x 8-channel tile: for each block of KC taps, sums w·x from zero in 8 accumulators (a_ih: pixel i,
 * channel half h), then adds the block sums into tileSums [pixel][8] (the first block to the strip's bias). Taps
 * are walked in runs along one input row (fixed c and r): three at immediate offsets for a whole 3-wide row.
 */
function wideTile(w: usize, c0: usize, c1: usize, c2: usize, c3: usize): void {
  for (let t0 = 0; t0 < CRS; t0 += KC) {
    const t1 = min(t0 + KC, CRS);
    let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const block = <usize>(t0 >> 8) << 2; // KC = 256
    const o = <usize>load<u32>(blockOffsets + block);
    let q0 = c0 + o, q1 = c1 + o, q2 = c2 + o, q3 = c3 + o;
    let steps = <usize>load<u32>(blockSteps + block);
    // One tap per iteration, the input pointers stepped by the table: V8 keeps the 8 accumulators and the
    // pointers in registers through this loop (with taps unrolled, it scheduled their broadcasts first and
    // spilled).
    const end = w + (<usize>(t1 - t0) << 5);
    do {
      const w0 = v128.load(w), w1 = v128.load(w, 16);
      let x = v128.load32_splat(q0); a00 = f32x4.add(a00, f32x4.mul(w0, x)); a01 = f32x4.add(a01, f32x4.mul(w1, x));
      x = v128.load32_splat(q1); a10 = f32x4.add(a10, f32x4.mul(w0, x)); a11 = f32x4.add(a11, f32x4.mul(w1, x));
      x = v128.load32_splat(q2); a20 = f32x4.add(a20, f32x4.mul(w0, x)); a21 = f32x4.add(a21, f32x4.mul(w1, x));
      x = v128.load32_splat(q3); a30 = f32x4.add(a30, f32x4.mul(w0, x)); a31 = f32x4.add(a31, f32x4.mul(w1, x));
      const step = <usize>load<u32>(steps);
      q0 += step; q1 += step; q2 += step; q3 += step;
      w += 32;
      steps += 4;
    } while (w < end);
    addBlock(0, a00, a01, t0 == 0);
    addBlock(1, a10, a11, t0 == 0);
    addBlock(2, a20, a21, t0 == 0);
    addBlock(3, a30, a31, t0 == 0);
  }
}

/** tileSums[pixel] = its running sums (the strip's bias for the first block) + this block's sums. */
// @ts-ignore: decorator
@inline function addBlock(pixel: i32, low: v128, high: v128, first: bool): void {
  const dst = tileSums + (<usize>pixel << 5), from = first ? stripBias : dst;
  v128.store(dst, f32x4.add(v128.load(from), low));
  v128.store(dst, f32x4.add(v128.load(from, 16), high), 16);
}

/** Writes the tile's valid outputs with the channel bias and the residual; channels run along the lanes. */
function storeWideTile(y: usize, cb: usize, res: usize, strip: i32, n: i32, p: i32, valid: i32): void {
  const contiguous = valid == 4 && p + 4 <= P;
  for (let half = 0; half < 2; half++) {
    const h = tileSums + (<usize>half << 4);
    // Transpose: column j of the 4 pixels' channel vectors is channel 4·half + j's 4 pixels.
    const r0 = v128.load(h), r1 = v128.load(h, 32), r2 = v128.load(h, 64), r3 = v128.load(h, 96);
    const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
    const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
    for (let j = 0; j < 4; j++) {
      const k = strip * STRIP + half * 4 + j;
      if (k >= K) return;
      const v = j == 0 ? f32x4.shuffle(t0, t2, 0, 1, 4, 5) : j == 1 ? f32x4.shuffle(t0, t2, 2, 3, 6, 7)
        : j == 2 ? f32x4.shuffle(t1, t3, 0, 1, 4, 5) : f32x4.shuffle(t1, t3, 2, 3, 6, 7);
      if (contiguous) {
        const o = (n * K + k) * P + p;
        let out = cb != 0 ? f32x4.add(v, v128.load32_splat(at(cb, n * K + k))) : v;
        if (res != 0) out = f32x4.add(out, v128.load(at(res, o)));
        v128.store(at(y, o), out);
        continue;
      }
      for (let i = 0; i < valid; i++) {
        const ni = n + (p + i) / P, pi = (p + i) % P;
        let out = load<f32>(h + (<usize>(i * STRIP + j) << 2));
        if (cb != 0) out += get(cb, ni * K + k);
        if (res != 0) out += get(res, (ni * K + k) * P + pi);
        put(y, (ni * K + k) * P + pi, out);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// K <= 4: tiles of K channels x 4·V consecutive pixels of one output row, or for K = 1 in one block of taps of
// two output rows (stride 1; other strides, and rows narrower than 4, take the scalar twin's path)

function narrowConv(y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize): void {
  // One channel summed in one block: two output rows per tile (conv2d-packed-pairs.ts), an odd last row alone.
  // Not for K = 2-4: their single-row tiles already reuse each input vector for every channel.
  const pairs = K == 1 && CRS <= KC;
  // The single-row tiles' tables: for all rows but pairs, and for the odd last row after pairs.
  if (OW >= 4 && stride == 1 && (!pairs || (OH & 1) != 0)) setTapSteps();
  // Groups of up to 4 output channels; their weights are 4 consecutive floats per tap in either layout.
  for (let k0 = 0; k0 < K; k0 += 4) {
    const KK = min(4, K - k0);
    const w = K <= 4 ? packed : at(packed, (k0 / STRIP) * CRS * STRIP + (k0 & (STRIP - 1)));
    const wstep = K <= 4 ? K << 2 : STRIP << 2;
    // The widest tile that keeps its KK·V accumulators, its V input vectors and KK weights in V8's 15 registers.
    const widest = KK == 1 ? 7 : KK == 2 ? 4 : 2;
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        if (OW < 4 || stride != 1) {
          for (let k = k0; k < k0 + KK; k++) for (let ow = 0; ow < OW; ow++) {
            put(y, ((n * K + k) * OH + oh) * OW + ow, scalarOutput(xp, packed, b, cb, res, n, k, oh, ow));
          }
          continue;
        }
        if (pairs && oh + 1 < OH) {
          rowPair(y, xp, packed, b, cb, res, n, oh);
          oh++;
          continue;
        }
        let ow = 0;
        for (; ow + 4 * widest <= OW; ow += 4 * widest) narrowTileK(y, xp, w, wstep, b, cb, res, k0, KK, n, oh, ow, widest);
        // The rest of the row: tiles as wide as it needs, the last ending at the row's end (it may recompute a
        // few pixels: same bits).
        while (ow < OW) {
          const V = min(widest, min((OW - ow + 3) >> 2, OW >> 2));
          const start = min(ow, OW - 4 * V);
          narrowTileK(y, xp, w, wstep, b, cb, res, k0, KK, n, oh, start, V);
          ow = start + 4 * V;
        }
      }
    }
  }
}

/** Output rows oh and oh + 1 of image n's one channel, in tiles of up to 4 vectors (the last ending at the row's end). */
function rowPair(y: usize, xp: usize, w: usize, b: usize, cb: usize, res: usize, n: i32, oh: i32): void {
  let ow = 0;
  while (ow < OW) {
    const V = min(4, min((OW - ow + 3) >> 2, OW >> 2)), start = min(ow, OW - 4 * V);
    const base = corner(xp, n, oh, start), o = n * P + oh * OW + start;
    const out = at(y, o), reso = res != 0 ? at(res, o) : 0, cbn = cb != 0 ? at(cb, n) : 0;
    const row = <usize>WP << 2, plane = <usize>(HP * WP) << 2, outRow = <usize>OW << 2;
    if (V == 4) rowPairTile(4, w, C, R, S, base, row, plane, b, cbn, out, reso, outRow);
    else if (V == 3) rowPairTile(3, w, C, R, S, base, row, plane, b, cbn, out, reso, outRow);
    else if (V == 2) rowPairTile(2, w, C, R, S, base, row, plane, b, cbn, out, reso, outRow);
    else rowPairTile(1, w, C, R, S, base, row, plane, b, cbn, out, reso, outRow);
    ow = start + 4 * V;
  }
}

/**
 * Runs the tile specialised for KK (1-4) channels from k0 and V vectors of 4 pixels (weights from w, wstep bytes
 * per tap); it stores its outputs with the epilogue.
 */
function narrowTileK(y: usize, xp: usize, w: usize, wstep: i32, b: usize, cb: usize, res: usize, k0: i32, KK: i32,
  n: i32, oh: i32, ow: i32, V: i32): void {
  const base = corner(xp, n, oh, ow), bias = b != 0 ? at(b, k0) : 0;
  const o = (n * K + k0) * P + oh * OW + ow;
  const out = at(y, o), resk = res != 0 ? at(res, o) : 0, cbk = cb != 0 ? at(cb, n * K + k0) : 0;
  if (KK == 1) { if (V == 1) narrowTile(1, 1, w, wstep, base, bias, out, resk, cbk); else if (V == 2) narrowTile(1, 2, w, wstep, base, bias, out, resk, cbk); else if (V == 3) narrowTile(1, 3, w, wstep, base, bias, out, resk, cbk); else if (V == 4) narrowTile(1, 4, w, wstep, base, bias, out, resk, cbk); else if (V == 5) narrowTile(1, 5, w, wstep, base, bias, out, resk, cbk); else if (V == 6) narrowTile(1, 6, w, wstep, base, bias, out, resk, cbk); else narrowTile(1, 7, w, wstep, base, bias, out, resk, cbk); }
  else if (KK == 2) { if (V == 1) narrowTile(2, 1, w, wstep, base, bias, out, resk, cbk); else if (V == 2) narrowTile(2, 2, w, wstep, base, bias, out, resk, cbk); else if (V == 3) narrowTile(2, 3, w, wstep, base, bias, out, resk, cbk); else narrowTile(2, 4, w, wstep, base, bias, out, resk, cbk); }
  else if (KK == 3) { if (V == 1) narrowTile(3, 1, w, wstep, base, bias, out, resk, cbk); else narrowTile(3, 2, w, wstep, base, bias, out, resk, cbk); }
  else { if (V == 1) narrowTile(4, 1, w, wstep, base, bias, out, resk, cbk); else narrowTile(4, 2, w, wstep, base, bias, out, resk, cbk); }
}

/**
 * KK channels x VV vectors of 4 consecutive pixels from `base` (constants after inlining: the unused
 * accumulators vanish), one tap per iteration as in wideTile. Between blocks of KC taps the sums wait in
 * tileSums [k][v][4]; after the last block they go to out (channel k at out + k·P floats) with the epilogue.
 */
// @ts-ignore: decorator
@inline function narrowTile(KK: i32, VV: i32, packed: usize, wstep: i32, base: usize, b: usize, out: usize, res: usize, cb: usize): void {
  const plane = <usize>P << 2;
  let w = packed;
  for (let t0 = 0; t0 < CRS; t0 += KC) {
    const t1 = min(t0 + KC, CRS);
    let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00, a06 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const block = <usize>(t0 >> 8) << 2; // KC = 256
    let q = base + <usize>load<u32>(blockOffsets + block), steps = <usize>load<u32>(blockSteps + block);
    const end = w + <usize>((t1 - t0) * wstep);
    do {
      const w0 = v128.load32_splat(w);
      const w1 = KK > 1 ? v128.load32_splat(w, 4) : w0;
      const w2 = KK > 2 ? v128.load32_splat(w, 8) : w0;
      const w3 = KK > 3 ? v128.load32_splat(w, 12) : w0;
      const x0 = v128.load(q);
      a00 = f32x4.add(a00, f32x4.mul(w0, x0));
      if (KK > 1) a10 = f32x4.add(a10, f32x4.mul(w1, x0));
      if (KK > 2) a20 = f32x4.add(a20, f32x4.mul(w2, x0));
      if (KK > 3) a30 = f32x4.add(a30, f32x4.mul(w3, x0));
      if (VV > 1) {
        const x1 = v128.load(q, 16);
        a01 = f32x4.add(a01, f32x4.mul(w0, x1));
        if (KK > 1) a11 = f32x4.add(a11, f32x4.mul(w1, x1));
        if (KK > 2) a21 = f32x4.add(a21, f32x4.mul(w2, x1));
        if (KK > 3) a31 = f32x4.add(a31, f32x4.mul(w3, x1));
      }
      if (VV > 2) {
        const x2 = v128.load(q, 32);
        a02 = f32x4.add(a02, f32x4.mul(w0, x2));
        if (KK > 1) a12 = f32x4.add(a12, f32x4.mul(w1, x2));
      }
      if (VV > 3) {
        const x3 = v128.load(q, 48);
        a03 = f32x4.add(a03, f32x4.mul(w0, x3));
        if (KK > 1) a13 = f32x4.add(a13, f32x4.mul(w1, x3));
      }
      if (VV > 4) {
        const x4 = v128.load(q, 64);
        a04 = f32x4.add(a04, f32x4.mul(w0, x4));
      }
      if (VV > 5) {
        const x5 = v128.load(q, 80);
        a05 = f32x4.add(a05, f32x4.mul(w0, x5));
      }
      if (VV > 6) {
        const x6 = v128.load(q, 96);
        a06 = f32x4.add(a06, f32x4.mul(w0, x6));
      }
      q += <usize>load<u32>(steps);
      steps += 4;
      w += <usize>wstep;
    } while (w < end);
    const first = t0 == 0, last = t1 == CRS;
    narrowAdd(0, 0, a00, b, first, last, out, res, cb, plane);
    if (VV > 1) narrowAdd(0, 1, a01, b, first, last, out, res, cb, plane);
    if (VV > 2) narrowAdd(0, 2, a02, b, first, last, out, res, cb, plane);
    if (VV > 3) narrowAdd(0, 3, a03, b, first, last, out, res, cb, plane);
    if (VV > 4) narrowAdd(0, 4, a04, b, first, last, out, res, cb, plane);
    if (VV > 5) narrowAdd(0, 5, a05, b, first, last, out, res, cb, plane);
    if (VV > 6) narrowAdd(0, 6, a06, b, first, last, out, res, cb, plane);
    if (KK > 1) narrowAdd(1, 0, a10, b, first, last, out, res, cb, plane);
    if (KK > 1 && VV > 1) narrowAdd(1, 1, a11, b, first, last, out, res, cb, plane);
    if (KK > 1 && VV > 2) narrowAdd(1, 2, a12, b, first, last, out, res, cb, plane);
    if (KK > 1 && VV > 3) narrowAdd(1, 3, a13, b, first, last, out, res, cb, plane);
    if (KK > 2) narrowAdd(2, 0, a20, b, first, last, out, res, cb, plane);
    if (KK > 2 && VV > 1) narrowAdd(2, 1, a21, b, first, last, out, res, cb, plane);
    if (KK > 3) narrowAdd(3, 0, a30, b, first, last, out, res, cb, plane);
    if (KK > 3 && VV > 1) narrowAdd(3, 1, a31, b, first, last, out, res, cb, plane);
  }
}

// @ts-ignore: decorator
@inline function narrowAdd(k: i32, v: i32, sums: v128, b: usize, first: bool, last: bool, out: usize, res: usize, cb: usize, plane: usize): void {
  const dst = tileSums + (<usize>(k * 8 + v) << 4);
  let total = f32x4.add(first ? (b != 0 ? v128.load32_splat(at(b, k)) : f32x4.splat(0)) : v128.load(dst), sums);
  if (!last) {
    v128.store(dst, total);
    return;
  }
  // The last block: the epilogue, straight into y.
  const o = <usize>k * plane + (<usize>v << 4);
  if (cb != 0) total = f32x4.add(total, v128.load32_splat(at(cb, k)));
  if (res != 0) total = f32x4.add(total, v128.load(res + o));
  v128.store(out + o, total);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

