/**
 * Float64 references for the resampling kernels, written from their definitions: 2x2 average pooling, zero
 * padding, and FIR resampling as diffusers' upfirdn2d_native computes it (zero insertion, padding, a correlation
 * with the flipped 4x4 kernel, stride), not from the kernels' per-phase formulas. Planes are [P, H, W] flat.
 */
type F = Float64Array;

/** Mean of each 2x2 block: [P, H, W] -> [P, H/2, W/2]. */
export function avgPoolRef(x: ArrayLike<number>, P: number, H: number, W: number): F {
  const y = new Float64Array(P * (H / 2) * (W / 2));
  for (let p = 0; p < P; p++) {
    for (let h = 0; h < H / 2; h++) {
      for (let w = 0; w < W / 2; w++) {
        let s = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) s += x[(p * H + 2 * h + i) * W + 2 * w + j];
        y[(p * (H / 2) + h) * (W / 2) + w] = s / 4;
      }
    }
  }
  return y;
}

/** Zero padding of [P, H, W] planes. */
export function padRef(x: ArrayLike<number>, P: number, H: number, W: number, [top, bottom, left, right]: number[]): F {
  const PH = top + H + bottom, PW = left + W + right;
  const y = new Float64Array(P * PH * PW);
  for (let p = 0; p < P; p++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) y[(p * PH + top + h) * PW + left + w] = x[(p * H + h) * W + w];
  return y;
}

/**
 * upfirdn2d of [P, H, W] planes with the 4x4 kernel k (outer product of (1, 3, 3, 1), times `gain` / 64), as
 * diffusers' upfirdn2d_native: insert up - 1 zeros after every sample, pad (pad0, pad1) on both axes, correlate
 * with the flipped kernel, keep every `down`-th output.
 */
function upfirdn(x: ArrayLike<number>, P: number, H: number, W: number, up: number, down: number, pad0: number, pad1: number, gain: number): { y: F; OH: number; OW: number } {
  const taps = [1, 3, 3, 1];
  const k = (a: number, b: number) => (taps[a] * taps[b] * gain) / 64;
  const UH = H * up + pad0 + pad1, UW = W * up + pad0 + pad1;
  const padded = (p: number, i: number, j: number) => {
    const si = i - pad0, sj = j - pad0;
    if (si < 0 || sj < 0 || si >= H * up || sj >= W * up || si % up !== 0 || sj % up !== 0) return 0;
    return x[(p * H + si / up) * W + sj / up];
  };
  const FH = UH - 4 + 1, FW = UW - 4 + 1;
  const OH = Math.floor((FH - 1) / down) + 1, OW = Math.floor((FW - 1) / down) + 1;
  const y = new Float64Array(P * OH * OW);
  for (let p = 0; p < P; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s = 0;
        // The flipped kernel: tap (a, b) of the correlation reads k[3 - a][3 - b] (the same here: k is symmetric).
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += k(3 - a, 3 - b) * padded(p, oh * down + a, ow * down + b);
        y[(p * OH + oh) * OW + ow] = s;
      }
    }
  }
  return { y, OH, OW };
}

/** diffusers' downsample_2d(x, kernel=(1, 3, 3, 1)): up 1, down 2, pad (1, 1), gain 1. */
export function firDownRef(x: ArrayLike<number>, P: number, H: number, W: number): F {
  return upfirdn(x, P, H, W, 1, 2, 1, 1, 1).y;
}

/** diffusers' upsample_2d(x, kernel=(1, 3, 3, 1)): up 2, pad (2, 1), gain factor² = 4. */
export function firUpRef(x: ArrayLike<number>, P: number, H: number, W: number): F {
  return upfirdn(x, P, H, W, 2, 1, 2, 1, 4).y;
}
