// The spatial glue of a U-Net, on NCHW tensors: per-(n, c) channel bias, global average pooling, nearest-neighbour
// 2x upsampling, channel concatenation (skip connections) and per-sample division, each with its backward and
// scalar twin.
//
// Legend: N batch, C channels, H, W height and width, HW = H * W. The SIMD kernels and their scalar twins apply
// the same f32 operations to every element and give identical bits; sums over planes use reduceF64 (reduce.ts).
import { addInto, at, reduceF64, reduceF64Scalar, VALUES } from './reduce';

// ---------------------------------------------------------------------------------------------------------
// Per-(n, c) channel bias and global average pooling over planes of HW elements

/** x[n, c, :] += bias[n * C + c], in place. */
export function addChannelBias(x: usize, bias: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    const b = load<f32>(at(bias, p)), vb = f32x4.splat(b);
    const plane = at(x, p * HW);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(at(plane, i), f32x4.add(v128.load(at(plane, i)), vb));
    for (; i < HW; i++) store<f32>(at(plane, i), load<f32>(at(plane, i)) + b);
  }
}

export function addChannelBiasScalar(x: usize, bias: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < HW; i++) store<f32>(at(x, p * HW + i), load<f32>(at(x, p * HW + i)) + load<f32>(at(bias, p)));
  }
}

/** dbias[n * C + c] += sum of dy[n, c, :] (the sum in f64, see reduceF64, rounded to f32 before the add). */
export function channelBiasBackward(dbias: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(dbias, p), load<f32>(at(dbias, p)) + <f32>reduceF64(at(dy, p * HW), 0, HW, VALUES));
}

export function channelBiasBackwardScalar(dbias: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(dbias, p), load<f32>(at(dbias, p)) + <f32>reduceF64Scalar(at(dy, p * HW), 0, HW, VALUES));
}

/** y[n, c] = mean of x[n, c, :] (summed in f64, see reduceF64, divided in f64, rounded once). HW > 0. */
export function globalAvgPoolForward(y: usize, x: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(y, p), <f32>(reduceF64(at(x, p * HW), 0, HW, VALUES) / <f64>HW));
}

export function globalAvgPoolForwardScalar(y: usize, x: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(y, p), <f32>(reduceF64Scalar(at(x, p * HW), 0, HW, VALUES) / <f64>HW));
}

/** dx[n, c, :] += dy[n, c] / HW (the division in f32). */
export function globalAvgPoolBackward(dx: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    const g = load<f32>(at(dy, p)) / <f32>HW, vg = f32x4.splat(g);
    const plane = at(dx, p * HW);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(at(plane, i), f32x4.add(v128.load(at(plane, i)), vg));
    for (; i < HW; i++) store<f32>(at(plane, i), load<f32>(at(plane, i)) + g);
  }
}

export function globalAvgPoolBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < HW; i++) store<f32>(at(dx, p * HW + i), load<f32>(at(dx, p * HW + i)) + load<f32>(at(dy, p)) / <f32>HW);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Nearest-neighbour 2x upsampling. Row r of x (counting rows over all N * C planes) feeds rows 2r and 2r + 1
// of y, so the kernels walk N * C * H rows of W elements.

/** y[n, c, 2h + i, 2w + j] = x[n, c, h, w] for i, j in {0, 1}; y is [N, C, 2H, 2W]. */
export function upsampleNearest2xForward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    const src = at(x, r * W), top = at(y, 4 * r * W), bottom = at(top, 2 * W);
    let w = 0;
    for (; w + 4 <= W; w += 4) {
      const v = v128.load(at(src, w));
      const lo = f32x4.shuffle(v, v, 0, 0, 1, 1), hi = f32x4.shuffle(v, v, 2, 2, 3, 3);
      v128.store(at(top, 2 * w), lo); v128.store(at(top, 2 * w), hi, 16);
      v128.store(at(bottom, 2 * w), lo); v128.store(at(bottom, 2 * w), hi, 16);
    }
    for (; w < W; w++) {
      const v = load<f32>(at(src, w));
      store<f32>(at(top, 2 * w), v); store<f32>(at(top, 2 * w + 1), v);
      store<f32>(at(bottom, 2 * w), v); store<f32>(at(bottom, 2 * w + 1), v);
    }
  }
}

export function upsampleNearest2xForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    for (let w = 0; w < W; w++) {
      const v = load<f32>(at(x, r * W + w));
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) store<f32>(at(y, (2 * r + i) * 2 * W + 2 * w + j), v);
    }
  }
}

/** dx[n, c, h, w] += (dy[2h, 2w] + dy[2h, 2w + 1]) + (dy[2h + 1, 2w] + dy[2h + 1, 2w + 1]), in that order. */
export function upsampleNearest2xBackward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    const dst = at(dx, r * W), top = at(dy, 4 * r * W), bottom = at(top, 2 * W);
    let w = 0;
    for (; w + 4 <= W; w += 4) {
      const t0 = v128.load(at(top, 2 * w)), t1 = v128.load(at(top, 2 * w), 16);
      const b0 = v128.load(at(bottom, 2 * w)), b1 = v128.load(at(bottom, 2 * w), 16);
      const upper = f32x4.add(f32x4.shuffle(t0, t1, 0, 2, 4, 6), f32x4.shuffle(t0, t1, 1, 3, 5, 7));
      const lower = f32x4.add(f32x4.shuffle(b0, b1, 0, 2, 4, 6), f32x4.shuffle(b0, b1, 1, 3, 5, 7));
      v128.store(at(dst, w), f32x4.add(v128.load(at(dst, w)), f32x4.add(upper, lower)));
    }
    for (; w < W; w++) {
      const upper = load<f32>(at(top, 2 * w)) + load<f32>(at(top, 2 * w + 1));
      const lower = load<f32>(at(bottom, 2 * w)) + load<f32>(at(bottom, 2 * w + 1));
      store<f32>(at(dst, w), load<f32>(at(dst, w)) + (upper + lower));
    }
  }
}

export function upsampleNearest2xBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    for (let w = 0; w < W; w++) {
      const top = (2 * r) * 2 * W + 2 * w, bottom = top + 2 * W;
      const upper = load<f32>(at(dy, top)) + load<f32>(at(dy, top + 1));
      const children = upper + (load<f32>(at(dy, bottom)) + load<f32>(at(dy, bottom + 1)));
      store<f32>(at(dx, r * W + w), load<f32>(at(dx, r * W + w)) + children);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Channel concatenation (U-Net skip connections): out [N, CA + CB, HW] = a [N, CA, HW] then b [N, CB, HW]

export function concatChannels(out: usize, a: usize, b: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    memory.copy(at(out, n * (sa + sb)), at(a, n * sa), <usize>sa << 2);
    memory.copy(at(out, n * (sa + sb) + sa), at(b, n * sb), <usize>sb << 2);
  }
}

export function concatChannelsScalar(out: usize, a: usize, b: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < sa; i++) store<f32>(at(out, n * (sa + sb) + i), load<f32>(at(a, n * sa + i)));
    for (let i = 0; i < sb; i++) store<f32>(at(out, n * (sa + sb) + sa + i), load<f32>(at(b, n * sb + i)));
  }
}

/** da += dout[:, :CA], db += dout[:, CA:]; a zero pointer skips that gradient. */
export function concatChannelsBackward(da: usize, db: usize, dout: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    if (da != 0) addInto(at(da, n * sa), at(dout, n * (sa + sb)), sa);
    if (db != 0) addInto(at(db, n * sb), at(dout, n * (sa + sb) + sa), sb);
  }
}

export function concatChannelsBackwardScalar(da: usize, db: usize, dout: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    const row = n * (sa + sb);
    for (let i = 0; da != 0 && i < sa; i++) store<f32>(at(da, n * sa + i), load<f32>(at(da, n * sa + i)) + load<f32>(at(dout, row + i)));
    for (let i = 0; db != 0 && i < sb; i++) store<f32>(at(db, n * sb + i), load<f32>(at(db, n * sb + i)) + load<f32>(at(dout, row + sa + i)));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Per-sample division: y[n, :] = x[n, :] / d[n] (diffusers divides the output of a 'fourier' U-Net by its
// timesteps, and a block's output by its output_scale_factor). M elements per sample. The division is the f32
// division PyTorch does (not a multiplication by 1 / d, which rounds differently).

export function divideRows(y: usize, x: usize, d: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const dn = load<f32>(at(d, n)), vd = f32x4.splat(dn), src = at(x, n * M), dst = at(y, n * M);
    let i = 0;
    for (; i + 4 <= M; i += 4) v128.store(at(dst, i), f32x4.div(v128.load(at(src, i)), vd));
    for (; i < M; i++) store<f32>(at(dst, i), load<f32>(at(src, i)) / dn);
  }
}

export function divideRowsScalar(y: usize, x: usize, d: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) for (let i = 0; i < M; i++) store<f32>(at(y, n * M + i), load<f32>(at(x, n * M + i)) / load<f32>(at(d, n)));
}

/** dx[n, :] += dy[n, :] / d[n]. */
export function divideRowsBackward(dx: usize, dy: usize, d: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const dn = load<f32>(at(d, n)), vd = f32x4.splat(dn), src = at(dy, n * M), dst = at(dx, n * M);
    let i = 0;
    for (; i + 4 <= M; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), f32x4.div(v128.load(at(src, i)), vd)));
    for (; i < M; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)) / dn);
  }
}

export function divideRowsBackwardScalar(dx: usize, dy: usize, d: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < M; i++) store<f32>(at(dx, n * M + i), load<f32>(at(dx, n * M + i)) + load<f32>(at(dy, n * M + i)) / load<f32>(at(d, n)));
  }
}
