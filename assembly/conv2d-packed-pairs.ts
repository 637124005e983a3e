// The narrow tile for one output channel over two output rows at once (conv2d-packed.ts has the layouts and the
// order of the sums). A single-row tile loads one input vector per mul-add; here each input row r inside both
// output rows' fields (0 < r < R) feeds both: output row 0 through tap row r, output row 1 through tap row r - 1.
// Per tap of such a row, 4 input vectors and 2 weights for 8 mul-adds (0.75 loads per mul-add); with the two
// edge rows, a 3x3 kernel needs 22 loads per 24 mul-adds against 8 per 7 for the 7-vector single row.
// Each output still takes its taps in increasing order t = (c·R + r)·S + s, all in one block of at most KC
// taps, so its bits are the single-row tile's. The s-taps stay a loop: written out for S = 3, V8 spilled the
// accumulators and ran slower than the single row (measured: 55% of peak against 66%).

/**
 * Output rows oh and oh + 1 of one channel, VV (1-4) vectors of 4 pixels from the pixel whose field's corner is
 * `base` (stride 1). w: the channel's packed weights, one float per tap (C·R·S <= KC taps); row, plane: bytes
 * per input row and per input channel plane; b, cb: the channel's bias and channel bias (or 0); out, res: the
 * first output and its residual (or 0), outRow bytes per output row. Sums from zero, then b + sum, + cb, + res.
 */
// @ts-ignore: decorator
@inline export function rowPairTile(VV: i32, w: usize, C: i32, R: i32, S: i32, base: usize, row: usize, plane: usize,
  b: usize, cb: usize, out: usize, res: usize, outRow: usize): void {
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  const tapRow = <usize>S << 2;
  for (let c = 0; c < C; c++) {
    const first = base + <usize>c * plane;
    // Input row 0: output row 0's tap row 0 only.
    for (let s = 0; s < S; s++) {
      const q = first + (<usize>s << 2), w0 = v128.load32_splat(w + (<usize>s << 2));
      a00 = f32x4.add(a00, f32x4.mul(w0, v128.load(q)));
      if (VV > 1) a01 = f32x4.add(a01, f32x4.mul(w0, v128.load(q, 16)));
      if (VV > 2) a02 = f32x4.add(a02, f32x4.mul(w0, v128.load(q, 32)));
      if (VV > 3) a03 = f32x4.add(a03, f32x4.mul(w0, v128.load(q, 48)));
    }
    // Input rows 1 .. R - 1: output row 0's tap row r and output row 1's tap row r - 1.
    for (let r = 1; r < R; r++) {
      const from = first + <usize>r * row, wr = w + <usize>r * tapRow;
      for (let s = 0; s < S; s++) {
        const q = from + (<usize>s << 2), ws = wr + (<usize>s << 2);
        const w0 = v128.load32_splat(ws), w1 = v128.load32_splat(ws - tapRow);
        const x0 = v128.load(q);
        a00 = f32x4.add(a00, f32x4.mul(w0, x0)); a10 = f32x4.add(a10, f32x4.mul(w1, x0));
        if (VV > 1) { const x1 = v128.load(q, 16); a01 = f32x4.add(a01, f32x4.mul(w0, x1)); a11 = f32x4.add(a11, f32x4.mul(w1, x1)); }
        if (VV > 2) { const x2 = v128.load(q, 32); a02 = f32x4.add(a02, f32x4.mul(w0, x2)); a12 = f32x4.add(a12, f32x4.mul(w1, x2)); }
        if (VV > 3) { const x3 = v128.load(q, 48); a03 = f32x4.add(a03, f32x4.mul(w0, x3)); a13 = f32x4.add(a13, f32x4.mul(w1, x3)); }
      }
    }
    // Input row R: output row 1's tap row R - 1 only.
    const last = first + <usize>R * row, wl = w + <usize>(R - 1) * tapRow;
    for (let s = 0; s < S; s++) {
      const q = last + (<usize>s << 2), w1 = v128.load32_splat(wl + (<usize>s << 2));
      a10 = f32x4.add(a10, f32x4.mul(w1, v128.load(q)));
      if (VV > 1) a11 = f32x4.add(a11, f32x4.mul(w1, v128.load(q, 16)));
      if (VV > 2) a12 = f32x4.add(a12, f32x4.mul(w1, v128.load(q, 32)));
      if (VV > 3) a13 = f32x4.add(a13, f32x4.mul(w1, v128.load(q, 48)));
    }
    w += <usize>R * tapRow;
  }
  const bias = b != 0 ? v128.load32_splat(b) : f32x4.splat(0), channel = cb != 0 ? v128.load32_splat(cb) : f32x4.splat(0);
  storeSums(a00, bias, channel, cb, out, res, 0);
  if (VV > 1) storeSums(a01, bias, channel, cb, out, res, 16);
  if (VV > 2) storeSums(a02, bias, channel, cb, out, res, 32);
  if (VV > 3) storeSums(a03, bias, channel, cb, out, res, 48);
  storeSums(a10, bias, channel, cb, out, res, outRow);
  if (VV > 1) storeSums(a11, bias, channel, cb, out, res, outRow + 16);
  if (VV > 2) storeSums(a12, bias, channel, cb, out, res, outRow + 32);
  if (VV > 3) storeSums(a13, bias, channel, cb, out, res, outRow + 48);
}

/** out[o] = ((bias + sums) + channel bias) + res[o], in the order of narrowTile's last block. */
// @ts-ignore: decorator
@inline function storeSums(sums: v128, bias: v128, channel: v128, cb: usize, out: usize, res: usize, o: usize): void {
  let total = f32x4.add(bias, sums);
  if (cb != 0) total = f32x4.add(total, channel);
  if (res != 0) total = f32x4.add(total, v128.load(res + o));
  v128.store(out + o, total);
}
