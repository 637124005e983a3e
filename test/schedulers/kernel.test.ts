// The scheduler kernels (assembly/scheduler.ts): the SIMD kernels, their scalar twins and a float64 reference
// that does the same operations in the same order agree bit for bit (the kernels compute in float64 and round
// once), on awkward sizes; dynamic thresholding against a sort-based quantile; and the ops validate their
// arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import type { StepCoefficients } from '../../bindings/ops/scheduler.ts';
import { randomTensor, seededFloats } from '../helpers.ts';

await init();

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 17, 64, 1023];

/** The kernel's arithmetic in JavaScript doubles (IEEE, never fused), rounded to float32 once. */
function stepRef(s: Float32Array, m: Float32Array, z: Float32Array | null, k: StepCoefficients) {
  const prev = new Float32Array(s.length), x0Out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const x0 = Math.min(Math.max(k.a * s[i] + k.b * m[i], -k.clipRange), k.clipRange);
    const eps = k.c * s[i] + k.d * m[i] + k.e * x0;
    let p = k.f * x0 + k.g * s[i] + k.h * eps;
    if (z) p = p + k.sigma * z[i];
    prev[i] = p; x0Out[i] = x0;
  }
  return { prev, x0: x0Out };
}

const bits = (a: Float32Array | Tensor) => Array.from(new Uint32Array((a instanceof Tensor ? a.toFloat32Array() : a).buffer));

const COEFFICIENTS: [string, StepCoefficients][] = [
  ['DDPM-like, clipped', { a: 3.7, b: -2.9, c: 0, d: 0, e: 0, f: 0.31, g: 0.69, h: 0, sigma: 0.013, clipRange: 1 }],
  ['DDIM-like, unclipped', { a: 1.1, b: -0.4, c: 0.2, d: 0.9, e: -0.3, f: 0.8, g: 0, h: 0.6, sigma: 0.05, clipRange: Infinity }],
  ['tiny clip range', { a: 1, b: 1, c: 1, d: -1, e: 0.5, f: 1 / 3, g: 1 / 7, h: 1 / 11, sigma: 1 / 13, clipRange: 0.25 }],
];

for (const n of SIZES) {
  for (const [label, k] of COEFFICIENTS) {
    for (const withNoise of [true, false]) {
      test(`schedulerStep n=${n}, ${label}${withNoise ? ', noise' : ''}: SIMD = scalar twin = float64 reference`, () => {
        tidy(() => {
          const s = randomTensor([n], n + 1, 2), m = randomTensor([n], n + 2, 2), z = randomTensor([n], n + 3, 3);
          const noise = withNoise ? z : null;
          const { prevSample, predOriginalSample } = ops.schedulerStep(s, m, k, noise);
          const prev = new Tensor([n]), x0 = new Tensor([n]);
          wasm().schedulerStepScalar(prev.ptr, x0.ptr, s.ptr, m.ptr, noise?.ptr ?? 0, n,
            k.a, k.b, k.c, k.d, k.e, k.f, k.g, k.h, k.sigma, k.clipRange);
          const ref = stepRef(s.toFloat32Array(), m.toFloat32Array(), noise?.toFloat32Array() ?? null, k);
          assert.equal(bits(prevSample), bits(ref.prev), 'SIMD prevSample');
          assert.equal(bits(predOriginalSample), bits(ref.x0), 'SIMD predOriginalSample');
          assert.equal(bits(prev), bits(ref.prev), 'scalar prevSample');
          assert.equal(bits(x0), bits(ref.x0), 'scalar predOriginalSample');
          if (Number.isFinite(k.clipRange)) assert.ok(ref.x0.every((v) => Math.abs(v) <= k.clipRange), 'clipped');
        });
      });
    }
  }
}

for (const [N, M] of [[1, 1], [1, 7], [3, 5], [2, 8], [5, 13], [4, 64], [1, 1023]]) {
  test(`schedulerAddNoise [${N}, ${M}]: SIMD = scalar twin = float64 reference, per-item coefficients`, () => {
    tidy(() => {
      const x = randomTensor([N, M], N * 31 + M), y = randomTensor([N, M], N * 37 + M);
      const a = Array.from({ length: N }, (_, n) => Math.sqrt(1 - (n + 1) / (N + 2)));
      const b = Array.from({ length: N }, (_, n) => -Math.sqrt((n + 1) / (N + 2)));
      const out = ops.schedulerAddNoise(x, y, a, b);
      assert.equal(out.shape, [N, M]);
      const coefficients = Tensor.zeros([4 * N]); // 2N float64 in the storage of 4N float32
      new Float64Array(wasm().memory.buffer, coefficients.ptr, 2 * N).set(a.flatMap((an, n) => [an, b[n]]));
      const scalar = new Tensor([N, M]);
      wasm().schedulerAddNoiseScalar(scalar.ptr, x.ptr, y.ptr, coefficients.ptr, N, M);
      const xs = x.toFloat32Array(), ys = y.toFloat32Array();
      const ref = xs.map((xi, i) => a[Math.floor(i / M)] * xi + b[Math.floor(i / M)] * ys[i]);
      assert.equal(bits(out), bits(ref), 'SIMD');
      assert.equal(bits(scalar), bits(ref), 'scalar');
    });
  });
}


/** schedulerCombine in JavaScript doubles: the first term, then each next one added, rounded to float32 once. */
function combineRef(xs: Float32Array[], c: number[], clipRange: number): Float32Array {
  return xs[0].map((_, i) => {
    let acc = c[0] * xs[0][i];
    for (let k = 1; k < xs.length; k++) acc = acc + c[k] * xs[k][i];
    return Math.min(Math.max(acc, -clipRange), clipRange);
  });
}

for (const n of SIZES) {
  for (const K of [1, 2, 3, 5, 8]) {
    for (const clipRange of [Infinity, 0.75]) {
      test(`schedulerCombine n=${n}, K=${K}, clipRange ${clipRange}: SIMD = scalar twin = float64 reference`, () => {
        tidy(() => {
          const xs = Array.from({ length: K }, (_, k) => randomTensor([n], 100 * n + k, 2));
          const c = Array.from({ length: K }, (_, k) => (k % 2 ? -1 : 1) / (k + 1.37));
          const out = ops.schedulerCombine(xs.map((x, k) => [x, c[k]] as const), clipRange);
          const ref = combineRef(xs.map((x) => x.toFloat32Array()), c, clipRange);
          const block = Tensor.zeros([3 * K]); // K f64 coefficients, then K u32 pointers
          new Float64Array(wasm().memory.buffer, block.ptr, K).set(c);
          new Uint32Array(wasm().memory.buffer, block.ptr + 8 * K, K).set(xs.map((x) => x.ptr));
          const scalar = new Tensor([n]);
          wasm().schedulerCombineScalar(scalar.ptr, block.ptr + 8 * K, block.ptr, K, n, clipRange);
          assert.equal(bits(out), bits(ref), 'SIMD');
          assert.equal(bits(scalar), bits(ref), 'scalar');
          if (clipRange < Infinity && n > 8) assert.ok(ref.some((v) => Math.abs(v) === 0.75), 'some values clamped');
        });
      });
    }
  }
}

test('schedulerCombine: the output may alias an input; -0 stays -0 (the first term starts the sum)', () => {
  tidy(() => {
    const x = Tensor.from([-0, 1, 2, 3, 4], [5]), y = randomTensor([5], 7);
    const expected = combineRef([x.toFloat32Array(), y.toFloat32Array()], [1, 0], Infinity);
    assert.ok(Object.is(expected[0], -0));
    const out = ops.schedulerCombine([[x, 1], [y, 0]]);
    assert.equal(bits(out), bits(expected));
    assert.is(bits(out)[0], 0x80000000, '-0');
  });
});

/** torch.quantile(|x|, ratio) ('linear') and the thresholding, in float64 with a sort. */
function thresholdRef(x: Float32Array, N: number, ratio: number, maxValue: number) {
  const M = x.length / N;
  const out = new Float32Array(x.length), scales: number[] = [];
  for (let n = 0; n < N; n++) {
    const item = x.subarray(n * M, (n + 1) * M);
    const sorted = Float64Array.from(item, Math.abs).sort();
    const position = ratio * (M - 1), lo = Math.floor(position), hi = Math.min(lo + 1, M - 1), w = position - lo;
    const [a, b] = [sorted[lo], sorted[hi]];
    const q = w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
    const s = Math.min(Math.max(q, 1), maxValue);
    scales.push(s);
    item.forEach((v, i) => { out[n * M + i] = Math.min(Math.max(v, -s), s) / s; });
  }
  return { out, scales };
}

for (const [N, M] of [[1, 1], [1, 2], [2, 3], [3, 7], [2, 64], [4, 77], [1, 1025]]) {
  for (const [ratio, maxValue] of [[0.995, 1.5], [0.5, 3], [0.9, 1], [0, 2], [1, 2.5]]) {
    test(`schedulerThreshold [${N}, ${M}], ratio ${ratio}, maxValue ${maxValue}: SIMD = scalar twin = sort-based reference`, () => {
      tidy(() => {
        // Spread |x| over [0, 3] with repeated values and both signs, so the quantile lands above and below 1.
        const data = seededFloats(N * M, N * 13 + M).map((v, i) => (i % 5 === 0 ? 0.5 : v * 3));
        const x = Tensor.from(data, [N, M]);
        const { sample, scales } = ops.schedulerThreshold(x, ratio, maxValue);
        const ref = thresholdRef(x.toFloat32Array(), N, ratio, maxValue);
        assert.equal(Array.from(scales), ref.scales, 'scales');
        assert.equal(bits(sample), bits(ref.out), 'SIMD');
        const block = Tensor.zeros([2 * N + 256]);
        const scalar = new Tensor([N, M]);
        wasm().schedulerThresholdScalar(scalar.ptr, block.ptr, x.ptr, block.ptr + 8 * N, N, M, ratio, maxValue);
        assert.equal(bits(scalar), bits(ref.out), 'scalar');
        assert.ok(ref.out.every((v) => Math.abs(v) <= 1), 'thresholded values lie in [-1, 1]');
      });
    });
  }
}

test('schedulerThreshold: in place, and the order statistics of ties, zeros and the largest floats', () => {
  tidy(() => {
    const data = new Float32Array([0, -0, 2, -2, 2, 3.4028234663852886e38, -1e-45, 5]);
    const x = Tensor.from(data, [1, 8]);
    for (const ratio of [0, 1 / 7, 2 / 7, 0.5, 6 / 7, 1]) {
      const ref = thresholdRef(data, 1, ratio, 1e39);
      assert.equal(Array.from(ops.schedulerThreshold(x, ratio, 1e39).scales), ref.scales, `ratio ${ratio}`);
    }
  });
});

test('scheduler ops: bad arguments throw messages that name the op, the argument and the shapes', () => {
  tidy(() => {
    const k = COEFFICIENTS[0][1];
    const s = Tensor.zeros([2, 3]), m = Tensor.zeros([2, 4]);
    assert.throws(() => ops.schedulerStep(s, m, k), /schedulerStep: modelOutput must have the shape of sample: sample \[2, 3\], modelOutput \[2, 4\]/);
    assert.throws(() => ops.schedulerStep(s, s, k, Tensor.zeros([3, 2])), /schedulerStep: noise must have the shape of sample/);
    assert.throws(() => ops.schedulerStep(s, s, { ...k, f: NaN }), /schedulerStep: coefficients.f must be a finite number, got NaN/);
    assert.throws(() => ops.schedulerStep(s, s, { ...k, clipRange: 0 }), /schedulerStep: coefficients.clipRange must be a positive number/);
    assert.throws(() => ops.schedulerAddNoise(s, m, [1, 1], [0, 0]), /schedulerAddNoise: y must have the shape of x: x \[2, 3\], y \[2, 4\]/);
    assert.throws(() => ops.schedulerAddNoise(s, s, [1], [0, 0]), /schedulerAddNoise: a has 1 coefficients, x \[2, 3\] has 2 items/);
    assert.throws(() => ops.schedulerAddNoise(s, s, [1, 1], [0, Infinity]), /schedulerAddNoise: b\[1\] must be a finite number, got Infinity/);
    assert.throws(() => ops.schedulerCombine([]), /schedulerCombine: terms must be an array of 1 to 8 \[tensor, coefficient\] pairs, got 0 terms/);
    assert.throws(() => ops.schedulerCombine([[s, 1], [m, 1]]), /schedulerCombine: terms\[1\]\[0\] must have the shape of terms\[0\]\[0\]: terms\[0\]\[0\] \[2, 3\], terms\[1\]\[0\] \[2, 4\]/);
    assert.throws(() => ops.schedulerCombine([[s, 1], [s, NaN]]), /schedulerCombine: terms\[1\]\[1\] must be a finite number, got NaN/);
    assert.throws(() => ops.schedulerCombine([[s, 1]], 0), /schedulerCombine: clipRange must be a positive number/);
    assert.throws(() => ops.schedulerThreshold(s, 1.5, 1), /schedulerThreshold: ratio must be a number in \[0, 1\], got 1.5/);
    assert.throws(() => ops.schedulerThreshold(s, 0.9, 0), /schedulerThreshold: maxValue must be a finite positive number, got 0/);
    assert.throws(() => ops.schedulerThreshold(Tensor.zeros([4]), 0.9, 1), /schedulerThreshold: x must be a batch \[N, \.\.\.\], got shape \[4\]/);
  });
});

test.run();
