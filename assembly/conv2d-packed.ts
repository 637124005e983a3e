// 2-D convolution for inference: weights packed once, the input padded once, no unfolding, and the bias, a
// per-(n, k) channel bias and a residual added as the output is stored (forward only).
//
//   y[n,k,oh,ow] = ((b[k] + Σ_t w[k,t] · xp[n, c, oh·stride + r, ow·stride + s]) + cb[n,k]) + res[n,k,oh,ow]
//
// Legend: as conv2d.ts (N, C, H, W, K, R, S, OH, OW, P = OH·OW); xp [N, C, HP, WP] is the input as the taps read
// it, already padded (HP = H + 2·padding, zeros around the image: `conv2dPadInput`, or `groupNormSiluForward`
// with padding); taps t = (c·R + r)·S + s, CRS of them; b [K], cb [N, K], res [N, K, OH, OW], each optional (0).
//
// Order of the sums, hence the bits: taps in increasing order, in blocks of KC = 256 taps; each block summed in
// f32 from zero, the block sums added in order to b[k]; then cb, then res. That is the order in which gemm
// (matmul.ts) builds conv2dForward's output from the bias it starts from, so y has exactly the bits of
// conv2dForward, then addChannelBias, then addInPlace: the inference path rounds like the training path.
//
// Kernels. Wide (most 3x3 convolutions): output channels run along the vector lanes. The weights are packed in
// strips of 8 channels, packed[strip][t][8] (channels past K are zeros), and a 4-pixel x 8-channel tile keeps 8
// v128 accumulators while it walks the taps: per tap two weight vectors and four broadcast input values, the
// operand traffic of gemm's 4x8 micro-kernel but with no im2col copy and no packing of the input, and pixels
// taken in (n, oh, ow) order across images, so small feature maps (7x7) fill whole tiles. Narrow (K <= 4, such
// as an output convolution to 1 or 3 channels; 1x1 convolutions; short patches): pixels run along the lanes
// instead, a tile of up to 4 channels x 4-28 consecutive pixels of one output row (a 1x1 convolution's rows are
// whole planes), weights broadcast from packed[t][K] (K <= 4) or from the strips, so no lane computes a channel
// that does not exist; one channel whose taps fit one block (conv_out to 1 channel) takes two output rows per
// tile, so that the input rows between them feed both (conv2d-packed-pairs.ts). Plane (3x3, stride 1, 1-3
// input channels, K > 4: conv_in): per output and input channel, the 9 weights stay in registers while vectors
// of 4 pixels stream along the rows (conv2d-packed-planes.ts). A 1x1 convolution with K > 4 keeps w as it is and
// goes through gemm per image, as conv2dForward's, with the epilogue applied to each image's output while it is
// in cache.

import { convolve, OUT_H, OUT_W, PACKED_STRIP, scalarOutput, setSizes } from './conv2d-packed-tiles';
import { copyRun, zeroRun } from './runs';

// ---------------------------------------------------------------------------------------------------------
// Packing and padding

/** Floats of packed weights for a [K, C, R, S] convolution: C·R·S·K for K <= 4 and for 1x1, else C·R·S·8 per 8 channels. */
export function conv2dPackedSize(K: i32, C: i32, R: i32, S: i32): i32 {
  const CRS = C * R * S;
  return K <= 4 || R * S == 1 ? CRS * K : ((K + PACKED_STRIP - 1) / PACKED_STRIP) * PACKED_STRIP * CRS;
}

/**
 * packed = w [K, C, R, S] rearranged for conv2dPackedForward: [t][K] for K <= 4, w itself for a 1x1 convolution
 * (gemm reads it), else strips of 8 channels [strip][t][8].
 */
export function conv2dPackWeights(packed: usize, w: usize, K: i32, C: i32, R: i32, S: i32): void {
  const CRS = C * R * S;
  if (K > 4 && R * S == 1) {
    copyRun(packed, w, K * C);
    return;
  }
  if (K <= 4) {
    for (let t = 0; t < CRS; t++) for (let k = 0; k < K; k++) put(packed, t * K + k, get(w, k * CRS + t));
    return;
  }
  const strips = (K + PACKED_STRIP - 1) / PACKED_STRIP;
  for (let strip = 0; strip < strips; strip++) {
    for (let t = 0; t < CRS; t++) {
      for (let j = 0; j < PACKED_STRIP; j++) {
        const k = strip * PACKED_STRIP + j;
        put(packed, (strip * CRS + t) * PACKED_STRIP + j, k < K ? get(w, k * CRS + t) : 0);
      }
    }
  }
}

/**
 * xp [N, C, HS + 2·padding, WS + 2·padding] = x [N, C, H, W] with a border of `padding` zeros; with upsample = 1,
 * the nearest-neighbour 2x upsampling of x (HS = 2H, WS = 2W), as upsampleNearest2x then padding.
 */
export function conv2dPadInput(xp: usize, x: usize, N: i32, C: i32, H: i32, W: i32, padding: i32, upsample: i32): void {
  const f = upsample != 0 ? 2 : 1, HP = f * H + 2 * padding, WP = f * W + 2 * padding;
  for (let plane = 0; plane < N * C; plane++) {
    const dst = at(xp, plane * HP * WP), src = at(x, plane * H * W);
    zeroRun(dst, padding * WP);
    zeroRun(at(dst, (HP - padding) * WP), padding * WP);
    for (let i = 0; i < f * H; i++) {
      const row = at(dst, (padding + i) * WP), from = at(src, (i / f) * W);
      zeroRun(row, padding);
      zeroRun(at(row, padding + f * W), padding);
      if (f == 1) copyRun(at(row, padding), from, W);
      else doubleRow(at(row, padding), from, W);
    }
  }
}

/** The scalar twin of `conv2dPadInput`: one element at a time. */
export function conv2dPadInputScalar(xp: usize, x: usize, N: i32, C: i32, H: i32, W: i32, padding: i32, upsample: i32): void {
  const f = upsample != 0 ? 2 : 1, HP = f * H + 2 * padding, WP = f * W + 2 * padding;
  for (let plane = 0; plane < N * C; plane++) {
    for (let i = 0; i < HP; i++) for (let j = 0; j < WP; j++) {
      const u = i - padding, v = j - padding;
      const inside = u >= 0 && u < f * H && v >= 0 && v < f * W;
      put(xp, (plane * HP + i) * WP + j, inside ? get(x, (plane * H + u / f) * W + v / f) : 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The convolution

/**
 * y [N, K, OH, OW] = conv(xp, w) + b, then + cb[n, k], then + res (see the top of the file), with no further
 * padding: xp [N, C, HP, WP] is the input as the taps read it (padded by conv2dPadInput when the layer pads),
 * OH = (HP - R) / stride + 1, OW likewise. packed comes from conv2dPackWeights; b, cb, res may be 0.
 */
export function conv2dPackedForward(
  y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize,
  N: i32, C: i32, HP: i32, WP: i32, K: i32, R: i32, S: i32, stride: i32,
): void {
  // A 1x1 convolution with stride 1 maps each position to itself: a plane is one long row of HP·WP pixels.
  if (R == 1 && S == 1 && stride == 1) setSizes(N, C, 1, HP * WP, K, 1, 1, 1);
  else setSizes(N, C, HP, WP, K, R, S, stride);
  convolve(y, xp, packed, b, cb, res);
}

/** The scalar twin of `conv2dPackedForward`: one output at a time, the same sums in the same order. */
export function conv2dPackedForwardScalar(
  y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize,
  N: i32, C: i32, HP: i32, WP: i32, K: i32, R: i32, S: i32, stride: i32,
): void {
  setSizes(N, C, HP, WP, K, R, S, stride);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OUT_H; oh++) for (let ow = 0; ow < OUT_W; ow++) {
    store<f32>(at(y, ((n * K + k) * OUT_H + oh) * OUT_W + ow), scalarOutput(xp, packed, b, cb, res, n, k, oh, ow));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// @ts-ignore: decorator
@inline function put(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

/** dst[2i] = dst[2i + 1] = src[i], i < W. */
// @ts-ignore: decorator
@inline function doubleRow(dst: usize, src: usize, W: i32): void {
  let i = 0;
  for (; i + 4 <= W; i += 4) {
    const v = v128.load(at(src, i));
    v128.store(at(dst, 2 * i), f32x4.shuffle(v, v, 0, 0, 1, 1));
    v128.store(at(dst, 2 * i), f32x4.shuffle(v, v, 2, 2, 3, 3), 16);
  }
  for (; i < W; i++) { const v = get(src, i); put(dst, 2 * i, v); put(dst, 2 * i + 1, v); }
}
