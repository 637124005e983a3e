// The learned-variance kernels and ops (assembly/learned-variance.ts, bindings/ops/learned-variance.ts): SIMD
// kernels against their scalar twins (bit for bit) and a float64 reference on awkward sizes, the backward against
// finite differences, and the ops' argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { allocator } from '../../bindings/core/allocator.ts';
import { assertClose, finiteDifference, seededFloats } from '../helpers.ts';
import { learnedRangeRef, varianceNoiseRef } from '../ref/learned-variance.ts';

await init();

const SHAPES: [number, number][] = [[1, 1], [2, 3], [1, 4], [3, 5], [2, 17], [1, 1031], [4, 784]];
const run = (name: string, ...args: number[]) => (wasm() as unknown as Record<string, (...a: number[]) => void>)[name](...args);

/** Per-item (log beta~_t, log beta_t) pairs of a linear schedule at spread-out timesteps (minLog < maxLog). */
function boundsFor(N: number, seed: number): [number, number][] {
  return Array.from({ length: N }, (_, n) => {
    const beta = 1e-4 + (0.02 - 1e-4) * ((seed * 7 + n * 13) % 100) / 100;
    return [Math.log(beta * (0.2 + 0.7 * n / Math.max(1, N))), Math.log(beta)];
  });
}

function withBounds<T>(bounds: [number, number][], body: (ptr: number) => T): T {
  const ptr = allocator.alloc(16 * bounds.length);
  try {
    new Float64Array(wasm().memory.buffer, ptr, 2 * bounds.length).set(bounds.flat());
    return body(ptr);
  } finally {
    allocator.release(ptr);
  }
}

test('learnedRangeLogVariance: SIMD = scalar twin bit for bit = float64 reference to float32 rounding, on awkward sizes', () => {
  SHAPES.forEach(([N, M], s) => {
    const v = Tensor.from(seededFloats(N * M, 300 + s).map((x) => 1.3 * x), [N, M]);
    const bounds = boundsFor(N, s);
    const [simd, scalar] = ['learnedRangeLogVariance', 'learnedRangeLogVarianceScalar'].map((kernel) => {
      const out = new Tensor([N, M]);
      withBounds(bounds, (ptr) => run(kernel, out.ptr, v.ptr, ptr, N, M));
      const values = out.toFloat32Array();
      out.dispose();
      return values;
    });
    assert.equal(Array.from(simd), Array.from(scalar), `[${N}, ${M}] SIMD vs scalar`);
    const reference = learnedRangeRef(v.toFloat32Array(), bounds, M);
    // One rounding to float32 of values up to |log 1e-5| = 11.5: 2^-24 relative.
    assertClose(simd, reference, { atol: 0, rtol: 6e-8 }, `[${N}, ${M}] vs float64 reference`);
    const op = ops.learnedRangeLogVariance(v.reshape([N, 1, M]), bounds.map((b) => b[0]), bounds.map((b) => b[1]));
    assert.equal(Array.from(op.toFloat32Array()), Array.from(simd), 'the op runs the SIMD kernel over every dimension after the first');
    v.dispose();
  });
});

test('learnedRangeLogVariance: v = -1 gives minLog, v = 1 gives maxLog, v = 0 their mean', () => {
  const out = ops.learnedRangeLogVariance(Tensor.from([-1, 1, 0], [1, 3]), [Math.log(1e-4)], [Math.log(2e-2)]);
  assertClose(out, [Math.log(1e-4), Math.log(2e-2), (Math.log(1e-4) + Math.log(2e-2)) / 2], { atol: 0, rtol: 6e-8 }, 'ends and middle');
});

test('learnedRangeLogVarianceBackward: twins agree bit for bit, add into dv, and match finite differences of the reference', () => {
  for (const [N, M] of [[1, 1], [2, 3], [3, 9], [2, 1031]] as [number, number][]) {
    const bounds = boundsFor(N, M);
    const dLogVar = Tensor.from(seededFloats(N * M, 40 + M), [N, M]);
    const prior = seededFloats(N * M, 41 + M);
    const [simd, scalar] = ['learnedRangeLogVarianceBackward', 'learnedRangeLogVarianceBackwardScalar'].map((kernel) => {
      const dv = Tensor.from(prior, [N, M]);
      withBounds(bounds, (ptr) => run(kernel, dv.ptr, dLogVar.ptr, ptr, N, M));
      const values = dv.toFloat32Array();
      dv.dispose();
      return values;
    });
    assert.equal(Array.from(simd), Array.from(scalar), `[${N}, ${M}] SIMD vs scalar`);
    // L = sum of dLogVar · logVar(v), in float64, as a function of v.
    const v = Float64Array.from(seededFloats(N * M, 42 + M));
    const g = dLogVar.toFloat32Array();
    const loss = (x: Float64Array) => learnedRangeRef(x, bounds, M).reduce((sum, lv, i) => sum + g[i] * lv, 0);
    const numeric = finiteDifference(loss, v, 1e-4);
    assertClose(simd.map((d, i) => d - prior[i]), numeric, { atol: 1e-5, rtol: 1e-4 }, `[${N}, ${M}] gradient`);
    const fresh = ops.learnedRangeLogVarianceBackward(dLogVar, bounds.map((b) => b[0]), bounds.map((b) => b[1]));
    assertClose(fresh, numeric, { atol: 1e-5, rtol: 1e-4 }, `[${N}, ${M}] op, allocated`);
    dLogVar.dispose();
  }
});

test('varianceNoise: SIMD = scalar twin bit for bit = float64 reference, on awkward sizes', () => {
  SHAPES.forEach(([N, M], s) => {
    const mean = Tensor.from(seededFloats(N * M, 500 + s), [N, M]);
    const logVar = Tensor.from(seededFloats(N * M, 510 + s).map((x) => -5 + 4 * x), [N, M]);
    const noise = Tensor.from(seededFloats(N * M, 520 + s).map((x) => 3 * x), [N, M]);
    const [simd, scalar] = ['varianceNoise', 'varianceNoiseScalar'].map((kernel) => {
      const out = new Tensor([N, M]);
      run(kernel, out.ptr, mean.ptr, logVar.ptr, noise.ptr, N * M);
      const values = out.toFloat32Array();
      out.dispose();
      return values;
    });
    assert.equal(Array.from(simd), Array.from(scalar), `[${N}, ${M}] SIMD vs scalar`);
    const reference = varianceNoiseRef(mean.toFloat32Array(), logVar.toFloat32Array(), noise.toFloat32Array());
    assertClose(simd, reference, { atol: 3e-7, rtol: 6e-8 }, `[${N}, ${M}] vs float64 reference`);
    assert.equal(Array.from(ops.varianceNoise(mean, logVar, noise).toFloat32Array()), Array.from(simd), 'the op');
    [mean, logVar, noise].forEach((t) => t.dispose());
  });
});

test('the ops check their arguments before any call into WebAssembly, and free what they allocated', () => {
  const a = Tensor.from([0, 0], [1, 2]), b = Tensor.from([0, 0, 0], [1, 3]), scalar = Tensor.from([1], []);
  const before = memoryStats().liveBytes;
  assert.throws(() => ops.learnedRangeLogVariance(a, [0, 1], [1]), /learnedRangeLogVariance: minLog has 2 values, the batch has 1 items/);
  assert.throws(() => ops.learnedRangeLogVariance(a, [NaN], [1]), /learnedRangeLogVariance: minLog\[0\] must be a finite number, got NaN/);
  assert.throws(() => ops.learnedRangeLogVariance(scalar, [], []), /learnedRangeLogVariance: v must have a batch dimension \[N, \.\.\.\], got \[\]/);
  assert.throws(() => ops.learnedRangeLogVarianceBackward(a, [0], [1], { dv: b }), /learnedRangeLogVarianceBackward: into.dv must have shape \[1, 2\], got \[1, 3\]/);
  assert.throws(() => ops.varianceNoise(a, a, b), /varianceNoise: noise must have the shape of mean: mean \[1, 2\], noise \[1, 3\]/);
  assert.is(memoryStats().liveBytes, before, 'no allocation survives a refused call');
  assert.is(ops.learnedRangeLogVarianceBackward(a, [0], [1], { dv: null }), null, 'null skips the gradient');
});

test.run();
