// Fully connected layers (PyTorch's nn.Linear), built on the blocked `gemm` of matmul.ts.
//
//   forward:   y[N, OUT] = x[N, IN] · wᵀ + b          w is [OUT, IN] (PyTorch's layout), b is [OUT] or absent
//   backward:  dx += dy · w,   dw += dyᵀ · x,   db += column sums of dy
//
// Legend: N rows (batch items), IN input features, OUT output features.
//
// wᵀ costs nothing: gemm reads w through swapped strides. The bias is copied into each row of y first and the
// product added to it, so y[n, o] = b[o] + (x[n] · w[o]) with the k order of gemm: the bits of row n depend only on
// row n of x, on w and b, and on IN, never on N or on the other rows. Backward adds into its gradients; a zero
// pointer skips that gradient. db adds the rows of dy one at a time, in order, straight into db, so accumulating
// a batch in consecutive chunks gives the same db as one call. dw sums over N in gemm's order (blocks of 256 rows,
// each block summed then added to dw), so a different split of N changes dw in the last bits.

import { gemm } from './matmul';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

/** y = x · wᵀ + b; b may be 0 (no bias). */
export function linearForward(y: usize, x: usize, w: usize, b: usize, N: i32, IN: i32, OUT: i32): void {
  if (b != 0) for (let n = 0; n < N; n++) memory.copy(at(y, n * OUT), b, <usize>OUT << 2);
  gemm(N, OUT, IN, x, IN, 1, w, 1, IN, y, OUT, b != 0);
}

/** The scalar twin of `linearForward`: dot products summed in k order, then the bias added. */
export function linearForwardScalar(y: usize, x: usize, w: usize, b: usize, N: i32, IN: i32, OUT: i32): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let sum: f32 = 0;
      for (let k = 0; k < IN; k++) sum += load<f32>(at(x, n * IN + k)) * load<f32>(at(w, o * IN + k));
      store<f32>(at(y, n * OUT + o), b != 0 ? load<f32>(at(b, o)) + sum : sum);
    }
  }
}

/** dx += dy · w, dw += dyᵀ · x, db += column sums of dy (rows in order); any gradient pointer may be 0. */
export function linearBackward(dx: usize, dw: usize, db: usize, dy: usize, x: usize, w: usize, N: i32, IN: i32, OUT: i32): void {
  if (dx != 0) gemm(N, IN, OUT, dy, OUT, 1, w, IN, 1, dx, IN, true);
  if (dw != 0) gemm(OUT, IN, N, dy, 1, OUT, x, IN, 1, dw, IN, true);
  if (db != 0) {
    for (let n = 0; n < N; n++) {
      const row = at(dy, n * OUT);
      let o = 0;
      for (; o + 4 <= OUT; o += 4) v128.store(at(db, o), f32x4.add(v128.load(at(db, o)), v128.load(at(row, o))));
      for (; o < OUT; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(row, o)));
    }
  }
}

/** The scalar twin of `linearBackward`: each gradient element a plain sum in index order, added at the end. */
export function linearBackwardScalar(dx: usize, dw: usize, db: usize, dy: usize, x: usize, w: usize, N: i32, IN: i32, OUT: i32): void {
  if (dx != 0) {
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < IN; k++) {
        let sum: f32 = 0;
        for (let o = 0; o < OUT; o++) sum += load<f32>(at(dy, n * OUT + o)) * load<f32>(at(w, o * IN + k));
        store<f32>(at(dx, n * IN + k), load<f32>(at(dx, n * IN + k)) + sum);
      }
    }
  }
  if (dw != 0) {
    for (let o = 0; o < OUT; o++) {
      for (let k = 0; k < IN; k++) {
        let sum: f32 = 0;
        for (let n = 0; n < N; n++) sum += load<f32>(at(dy, n * OUT + o)) * load<f32>(at(x, n * IN + k));
        store<f32>(at(dw, o * IN + k), load<f32>(at(dw, o * IN + k)) + sum);
      }
    }
  }
  if (db != 0) {
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OUT; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(dy, n * OUT + o)));
    }
  }
}
