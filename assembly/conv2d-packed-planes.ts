// The plane tile for 3x3 stride-1 convolutions with few input channels and more than 4 output channels (conv_in:
// 1 or 3 channels in, 16 out; conv2d-packed.ts has the layouts and the order of the sums). Per output channel k
// and input channel c, the nine weights stay in registers while vectors of 4 output pixels stream along the
// rows: per vector 9 input loads for 9 mul-adds and no per-tile set-up, where a narrow tile of 4 channels x 8
// pixels walks only 9 taps between its set-up and its 8 stores (measured at 40% of peak for conv_in 1 -> 16).
// Each output still takes its taps in increasing order t = (c·3 + r)·3 + s, in one block (C·9 <= KC), from
// zero: with several input channels the running sums wait in y between channels; the last channel's pass adds
// them to the bias, and a pass of its own then adds the channel bias and the residual, so the bits are the
// narrow tile's. The pass is compiled four times, for the first and the last channel or not: with the two as
// run-time flags, 3 input channels ran slower than the narrow tiles (measured 0.88x).

/**
 * y [N, K, OH, OW] from xp [N, C, HP, WP] (OH = HP - 2, OW = WP - 2 >= 4) and the weights packed in 8-channel
 * strips (K > 4); b, cb, res may be 0.
 */
export function planeConv3x3(y: usize, xp: usize, packed: usize, b: usize, cb: usize, res: usize,
  N: i32, C: i32, HP: i32, WP: i32, K: i32): void {
  const OH = HP - 2, OW = WP - 2, P = OH * OW, CRS = C * 9;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const out = at(y, (n * K + k) * P);
      const bias = b != 0 ? v128.load32_splat(at(b, k)) : f32x4.splat(0);
      // Channel k's taps: 8 floats apart in its strip.
      let w = at(packed, (k >> 3) * CRS * 8 + (k & 7));
      for (let c = 0; c < C; c++) {
        const x = at(xp, (n * C + c) * HP * WP);
        const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 32), w2 = v128.load32_splat(w, 64);
        const w3 = v128.load32_splat(w, 96), w4 = v128.load32_splat(w, 128), w5 = v128.load32_splat(w, 160);
        const w6 = v128.load32_splat(w, 192), w7 = v128.load32_splat(w, 224), w8 = v128.load32_splat(w, 256);
        const first = c == 0, last = c == C - 1;
        if (first && last) planePass(true, true, x, WP, OH, OW, out, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8);
        else if (first) planePass(true, false, x, WP, OH, OW, out, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8);
        else if (last) planePass(false, true, x, WP, OH, OW, out, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8);
        else planePass(false, false, x, WP, OH, OW, out, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8);
        w += 9 * 32;
      }
      // The channel bias, then the residual, in a pass of their own: in the passes above they cost every output
      // vector a test or a select (the inference path's conv_in has neither).
      if (cb != 0 || res != 0) {
        addChannelBiasAndResidual(out, cb != 0 ? at(cb, n * K + k) : 0, res != 0 ? at(res, (n * K + k) * P) : 0, P);
      }
    }
  }
}

/**
 * One input channel's pass over an output plane: from zero (first) or the sums in out, its 9 taps added; the
 * last channel's pass stores bias + sums. A row not a multiple of 4 wide ends with a vector that overlaps the
 * one before it: it is computed before the row's other vectors overwrite the sums they share, and stored after
 * them.
 */
// @ts-ignore: decorator
@inline function planePass(first: bool, last: bool, x: usize, WP: i32, OH: i32, OW: i32, out: usize, bias: v128,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128): void {
  const row = <usize>WP << 2, outRow = <usize>OW << 2, tail = <usize>(OW - 4) << 2, ragged = (OW & 3) != 0;
  for (let oh = 0; oh < OH; oh++) {
    const q = x + <usize>oh * row, o = out + <usize>oh * outRow;
    const last4 = ragged
      ? pixels(first, last, q + tail, row, o + tail, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8) : bias;
    const end = q + (<usize>(OW >> 2) << 4);
    let p = q, d = o;
    do {
      v128.store(d, pixels(first, last, p, row, d, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8));
      p += 16;
      d += 16;
    } while (p < end);
    if (ragged) v128.store(o + tail, last4);
  }
}

/** 4 consecutive outputs from the field corner q: the sums so far (or zero) + the channel's 9 taps, + bias if last. */
// @ts-ignore: decorator
@inline function pixels(first: bool, last: bool, q: usize, row: usize, o: usize, bias: v128,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128): v128 {
  let a = first ? f32x4.splat(0) : v128.load(o);
  a = f32x4.add(a, f32x4.mul(w0, v128.load(q)));
  a = f32x4.add(a, f32x4.mul(w1, v128.load(q, 4)));
  a = f32x4.add(a, f32x4.mul(w2, v128.load(q, 8)));
  const q1 = q + row;
  a = f32x4.add(a, f32x4.mul(w3, v128.load(q1)));
  a = f32x4.add(a, f32x4.mul(w4, v128.load(q1, 4)));
  a = f32x4.add(a, f32x4.mul(w5, v128.load(q1, 8)));
  const q2 = q1 + row;
  a = f32x4.add(a, f32x4.mul(w6, v128.load(q2)));
  a = f32x4.add(a, f32x4.mul(w7, v128.load(q2, 4)));
  a = f32x4.add(a, f32x4.mul(w8, v128.load(q2, 8)));
  return last ? f32x4.add(bias, a) : a;
}

/** out[i] = (out[i] + cb[0]) + res[i], i < P (cb, res: a pointer or 0 for none); the 1x1 tiles' epilogue too. */
export function addChannelBiasAndResidual(out: usize, cb: usize, res: usize, P: i32): void {
  const channel = cb != 0 ? v128.load32_splat(cb) : f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= P; i += 4) {
    let v = v128.load(at(out, i));
    if (cb != 0) v = f32x4.add(v, channel);
    if (res != 0) v = f32x4.add(v, v128.load(at(res, i)));
    v128.store(at(out, i), v);
  }
  for (; i < P; i++) {
    let v = load<f32>(at(out, i));
    if (cb != 0) v += load<f32>(cb);
    if (res != 0) v += load<f32>(at(res, i));
    store<f32>(at(out, i), v);
  }
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }
