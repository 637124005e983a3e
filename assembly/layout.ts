// Moving data between layouts, without arithmetic (so every engine gives the same bits trivially).
//
//   transpose12: out[a, c, b, d] = x[a, b, c, d] for x [A, B, C, D]
//
// The attention block uses it to go from feature maps [N, C, T] to tokens [N, T, C] (D = 1), and to split
// tokens [N, T, heads, Dh] into heads [N, heads, T, Dh] (D = head size). Its own inverse is transpose12 with B
// and C swapped, which is also its backward.

/** out[a, c, b, d] = x[a, b, c, d]; moves D contiguous floats at a time (v128 when D is a multiple of 4). */
export function transpose12(out: usize, x: usize, A: i32, B: i32, C: i32, D: i32): void {
  const row = <usize>D << 2;
  for (let a = 0; a < A; a++) {
    const xa = x + <usize>a * <usize>(B * C) * row;
    const oa = out + <usize>a * <usize>(B * C) * row;
    if (D == 1) {
      // A plain transpose of a B x C matrix, in 8x8 tiles to stay in cache.
      for (let b0 = 0; b0 < B; b0 += 8) {
        const b1 = min(b0 + 8, B);
        for (let c0 = 0; c0 < C; c0 += 8) {
          const c1 = min(c0 + 8, C);
          for (let b = b0; b < b1; b++) {
            for (let c = c0; c < c1; c++) {
              store<f32>(oa + (<usize>(c * B + b) << 2), load<f32>(xa + (<usize>(b * C + c) << 2)));
            }
          }
        }
      }
      continue;
    }
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        const src = xa + <usize>(b * C + c) * row;
        const dst = oa + <usize>(c * B + b) * row;
        if ((D & 3) == 0) {
          for (let i: usize = 0; i < row; i += 16) v128.store(dst + i, v128.load(src + i));
        } else {
          memory.copy(dst, src, row);
        }
      }
    }
  }
}

/** The scalar twin of transpose12: one float at a time, in output order. */
export function transpose12Scalar(out: usize, x: usize, A: i32, B: i32, C: i32, D: i32): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < D; d++) {
          const from = ((a * B + b) * C + c) * D + d;
          const to = ((a * C + c) * B + b) * D + d;
          store<f32>(out + (<usize>to << 2), load<f32>(x + (<usize>from << 2)));
        }
      }
    }
  }
}
