// The scheduler kernels (assembly/scheduler.ts): the SIMD kernels, their scalar twins and a float64 reference
// that does the same operations in the same order agree bit for bit (the kernels compute in float64 and round
// once), on awkward sizes; and the ops validate their arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import type { StepCoefficients } from '../../bindings/ops/scheduler.ts';
import { randomTensor } from '../helpers.ts';

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
  });
});

test.run();
