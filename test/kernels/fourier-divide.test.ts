// Two small kernels of the 'fourier' U-Net: the Gaussian Fourier features of the timesteps (assembly/embedding.ts)
// and the per-sample division of spatial.ts (the output divided by t; a block divided by its output scale).
// Fourier features: kernel = scalar twin bit for bit, and against a reference that follows PyTorch's float32
// order of operations (Math.fround after each product) with sin and cos in float64: within one rounding.
// Division: twins bit for bit, exactly x / d in float32, backward against central differences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, toF64 } from '../helpers.ts';

await init();

const run = (name: string, ...args: number[]) => (wasm() as unknown as Record<string, (...a: number[]) => void>)[name](...args);
const bits = (t: Tensor | Float32Array): number[] => Array.from(new Uint32Array((t instanceof Tensor ? t.toFloat32Array() : t.slice()).buffer));

/** PyTorch's float32 steps: log t, (l · w) · 2, · π, then sin and cos (here in float64 of the float32 phase). */
function fourierRef(timesteps: ArrayLike<number>, weight: ArrayLike<number>): Float64Array {
  const N = timesteps.length, C = weight.length, out = new Float64Array(2 * N * C), f = Math.fround;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) {
      const p = f(f(f(f(Math.log(timesteps[n])) * weight[i]) * 2) * f(Math.PI));
      out[2 * n * C + i] = Math.sin(p);
      out[2 * n * C + C + i] = Math.cos(p);
    }
  }
  return out;
}

for (const [timesteps, C] of [[[1, 37, 999], 4], [[0.25, 1.5, 80], 7], [[1e-3], 1], [[2.5, 1000, 0.002, 7.75, 64], 16]] as [number[], number][]) {
  test(`fourierEmbedding of [${timesteps.join(', ')}] with ${C} frequencies: twin bits, PyTorch's float32 order`, () => {
    tidy(() => {
      const t = Tensor.from(timesteps, [timesteps.length]), w = randomTensor([C], C, 16);
      const out = [Tensor.zeros([timesteps.length, 2 * C]), Tensor.zeros([timesteps.length, 2 * C])];
      run('fourierEmbedding', out[0].ptr, t.ptr, w.ptr, timesteps.length, C);
      run('fourierEmbeddingScalar', out[1].ptr, t.ptr, w.ptr, timesteps.length, C);
      assert.equal(bits(out[0]), bits(out[1]));
      assertClose(out[0], fourierRef(Float32Array.from(timesteps), w.toFloat32Array()), { atol: 6e-8, rtol: 0 }, 'fourier features');
      assert.equal(bits(ops.fourierEmbedding(Float32Array.from(timesteps), w)), bits(out[0]), 'the op runs the kernel');
      assert.equal(bits(ops.fourierEmbedding(t, w)), bits(out[0]), 'timesteps as a Tensor');
    });
  });
}

test('fourierEmbedding rejects timesteps whose log is not finite, and bad shapes', () => {
  tidy(() => {
    const w = Tensor.zeros([4]);
    assert.throws(() => ops.fourierEmbedding(Float32Array.from([1, 0]), w), /fourierEmbedding: timesteps must be positive and finite \(the embedding takes their log\), got 0 at index 1/);
    assert.throws(() => ops.fourierEmbedding(Float32Array.from([-2]), w), /got -2 at index 0/);
    assert.throws(() => ops.fourierEmbedding(Float32Array.from([1]), Tensor.zeros([2, 2])), /fourierEmbedding: weight must have rank 1 \[C\], got shape \[2, 2\]/);
  });
});

for (const shape of [[1, 1], [3, 5], [2, 4, 3, 3], [4, 1031]]) {
  test(`divideRows ${shape.join('x')}: twins bit for bit, x / d exactly in float32, backward`, () => {
    tidy(() => {
      const N = shape[0], M = shape.slice(1).reduce((a, b) => a * b, 1);
      const x = randomTensor(shape, M + N, 5), dy = randomTensor(shape, M + 3);
      const d = Float32Array.from({ length: N }, (_, n) => [Math.SQRT2, 0.25, -3, 999][n % 4]);
      const dT = Tensor.from(d, [N]);
      const y = [Tensor.zeros(shape), Tensor.zeros(shape)];
      run('divideRows', y[0].ptr, x.ptr, dT.ptr, N, M);
      run('divideRowsScalar', y[1].ptr, x.ptr, dT.ptr, N, M);
      assert.equal(bits(y[0]), bits(y[1]));
      const xs = x.toFloat32Array();
      assert.equal(bits(y[0]), bits(Float32Array.from(xs, (v, i) => v / d[Math.floor(i / M)])), 'the float32 quotient');
      assert.equal(bits(ops.divideRows(x, d)), bits(y[0]));
      const prior = randomTensor(shape, 77);
      const dx = [prior.clone(), prior.clone()];
      run('divideRowsBackward', dx[0].ptr, dy.ptr, dT.ptr, N, M);
      run('divideRowsBackwardScalar', dx[1].ptr, dy.ptr, dT.ptr, N, M);
      assert.equal(bits(dx[0]), bits(dx[1]));
      const numeric = finiteDifference((v) => dot(v.map((e, i) => e / d[Math.floor(i / M)]), toF64(dy)), toF64(x), 1e-3);
      assertClose(dx[0], numeric.map((g, i) => g + prior.toFloat32Array()[i]), { atol: 1e-6, rtol: 1e-6 }, 'divideRows backward');
      assert.equal(bits(ops.divideRowsBackward(dy, d, { dx: prior.clone() })), bits(dx[0]));
    });
  });
}

test('divideRows rejects zero or non-finite divisors and a wrong count', () => {
  tidy(() => {
    const x = Tensor.zeros([2, 3]);
    assert.throws(() => ops.divideRows(x, Float32Array.from([1, 0])), /divideRows: divisors\[1\] = 0: divisors must be finite and non-zero/);
    assert.throws(() => ops.divideRows(x, Float32Array.from([1])), /divideRows: divisors has 1 entries, x \[2, 3\] has 2 rows/);
    assert.throws(() => ops.divideRowsBackward(x, [1, 2] as never), /divideRowsBackward: divisors must be a Float32Array/);
  });
});

test.run();
