/**
 * Float64 references for the likelihood kernels (assembly/likelihood.ts), written from improved-diffusion's
 * definitions (losses.py) with JavaScript's Math; per-item means summed in index order.
 */
type A = ArrayLike<number>;

export const normalKLElement = (m1: number, lv1: number, m2: number, lv2: number): number =>
  0.5 * (-1 + lv2 - lv1 + Math.exp(lv1 - lv2) + (m1 - m2) ** 2 * Math.exp(-lv2));

/** improved-diffusion's approx_standard_normal_cdf. */
export const approxCdfRef = (z: number): number => 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));

export function discretizedElement(x: number, m: number, ls: number): number {
  const inv = Math.exp(-ls), c = x - m;
  const cdfPlus = approxCdfRef(inv * (c + 1 / 255)), cdfMin = approxCdfRef(inv * (c - 1 / 255));
  const log = (v: number) => Math.log(Math.max(v, 1e-12));
  if (x < -0.999) return log(cdfPlus);
  if (x > 0.999) return log(1 - cdfMin);
  return log(cdfPlus - cdfMin);
}

export const gaussianElement = (x: number, m: number, ls: number): number =>
  -0.5 * Math.log(2 * Math.PI) - ls - 0.5 * ((x - m) * Math.exp(-ls)) ** 2;

/** Per-item means (items of M elements) of f over the element-wise inputs. */
export function perItemRef(N: number, M: number, inputs: A[], f: (...v: number[]) => number): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += f(...inputs.map((a) => a[n * M + i]));
    out[n] = s / M;
  }
  return out;
}
