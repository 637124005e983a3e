// The likelihood kernels and ops (assembly/likelihood.ts, bindings/ops/likelihood.ts): SIMD kernels against their
// scalar twins and a float64 reference on awkward sizes, closed forms, finite-difference gradients, and the ops'
// argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { allocator } from '../../bindings/core/allocator.ts';
import { assertClose, finiteDifference, seededFloats } from '../helpers.ts';
import { approxCdfRef, discretizedElement, gaussianElement, normalKLElement, perItemRef } from '../ref/likelihood.ts';

await init();

const SHAPES: [number, number][] = [[1, 1], [2, 3], [1, 4], [3, 5], [2, 17], [1, 1031], [4, 784]];
const run = (name: string, ...args: number[]) => (wasm() as unknown as Record<string, (...a: number[]) => void>)[name](...args);

/** Seeded values in [lo, hi). */
function values(count: number, seed: number, lo: number, hi: number): Float32Array {
  return seededFloats(count, seed).map((v) => lo + (v + 1) / 2 * (hi - lo));
}

/** 8-bit values k / 127.5 - 1, every k in turn from a seeded start (the edges -1 and 1 included). */
function eightBit(count: number, seed: number): Float32Array {
  const start = Math.floor((seededFloats(1, seed)[0] + 1) * 128);
  return Float32Array.from({ length: count }, (_, i) => ((start + 37 * i) % 256) / 127.5 - 1);
}

/** Calls a reducing kernel (output: N float64) by name on tensors; returns the N values. */
function reduceKernel(name: string, N: number, M: number, inputs: Tensor[]): Float64Array {
  const ptr = allocator.alloc(8 * Math.max(1, N));
  try {
    run(name, ptr, ...inputs.map((t) => t.ptr), N, M);
    return new Float64Array(wasm().memory.buffer, ptr, N).slice();
  } finally {
    allocator.release(ptr);
  }
}

interface Family {
  kernel: string;
  element: (...v: number[]) => number;
  inputs: (count: number, seed: number) => Float32Array[];
}

const FAMILIES: Family[] = [
  {
    kernel: 'normalKL', element: normalKLElement,
    inputs: (count, seed) => [values(count, seed, -2, 2), values(count, seed + 1, -6, 1), values(count, seed + 2, -2, 2), values(count, seed + 3, -6, 1)],
  },
  {
    kernel: 'gaussianLogLikelihood', element: gaussianElement,
    inputs: (count, seed) => [values(count, seed, -3, 3), values(count, seed + 1, -3, 3), values(count, seed + 2, -4, 1)],
  },
  {
    // Means near x and log-scales from a tight -6 to a wide 0: bins from certain to improbable, edges included.
    kernel: 'discretizedGaussianLogLikelihood', element: discretizedElement,
    inputs: (count, seed) => {
      const x = eightBit(count, seed);
      return [x, x.map((v, i) => v + 0.05 * seededFloats(count, seed + 1)[i]), values(count, seed + 2, -6, 0)];
    },
  },
];

for (const family of FAMILIES) {
  test(`${family.kernel}: SIMD kernel = scalar twin = float64 reference (to f64 rounding), on awkward sizes`, () => {
    SHAPES.forEach(([N, M], s) => {
      const inputs = family.inputs(N * M, 100 + 10 * s).map((data) => Tensor.from(data, [N, M]));
      const simd = reduceKernel(family.kernel, N, M, inputs);
      const scalar = reduceKernel(`${family.kernel}Scalar`, N, M, inputs);
      const reference = perItemRef(N, M, inputs.map((t) => t.toFloat32Array()), family.element);
      assertClose(simd, scalar, { atol: 1e-13, rtol: 1e-13 }, `${family.kernel} [${N}, ${M}] SIMD vs scalar`);
      assertClose(simd, reference, { atol: 1e-12, rtol: 1e-12 }, `${family.kernel} [${N}, ${M}] vs float64 reference`);
      // The op reduces over every dimension after the first.
      const shaped = inputs.map((t) => t.reshape([N, 1, M]));
      assertClose((ops as unknown as Record<string, (...t: Tensor[]) => Float64Array>)[family.kernel](...shaped), simd,
        { atol: 0, rtol: 0 }, `${family.kernel} op`);
      [...inputs, ...shaped].forEach((t) => t.dispose());
    });
  });
}

test('normalKL: closed forms (equal Gaussians, equal variances, against N(0, 1))', () => {
  const m = Tensor.from([0.3, -1.2, 2], [1, 3]), lv = Tensor.from([-2, 0, 1.5], [1, 3]);
  assert.is(ops.normalKL(m, lv, m, lv)[0], 0);
  // Equal variances: 0.5 (m1 - m2)² / v.
  const m2 = Tensor.from([0.3 + 0.5, -1.2, 2 - 1], [1, 3]);
  const expected = (0.5 * 0.25 / Math.exp(-2) + 0 + 0.5 * 1 / Math.exp(1.5)) / 3;
  assertClose(ops.normalKL(m, lv, m2, lv), [expected], { atol: 0, rtol: 1e-6 }, 'equal variances');
  // KL(N(mu, s²) || N(0, 1)) = 0.5 (s² + mu² - 1 - ln s²), one element.
  const zero = Tensor.from([0], [1, 1]);
  const kl = ops.normalKL(Tensor.from([0.75], [1, 1]), Tensor.from([Math.log(0.25)], [1, 1]), zero, zero)[0];
  assertClose([kl], [0.5 * (0.25 + 0.5625 - 1 - Math.log(0.25))], { atol: 0, rtol: 1e-7 }, 'against N(0, 1)');
});

test('gaussianLogLikelihood: at the mean it is -0.5 ln 2π - log-scale; one sigma away, 0.5 less', () => {
  const x = Tensor.from([1, 1], [2, 1]), m = Tensor.from([1, 1 + Math.exp(-0.5)], [2, 1]), ls = Tensor.from([-0.5, -0.5], [2, 1]);
  assertClose(ops.gaussianLogLikelihood(x, m, ls), [-0.5 * Math.log(2 * Math.PI) + 0.5, -0.5 * Math.log(2 * Math.PI)],
    { atol: 1e-7, rtol: 0 }, 'log-density');
});

test('discretizedGaussianLogLikelihood: the 256 bins of a Gaussian sum to 1, and the limits of tight and wide scales', () => {
  const x = Float32Array.from({ length: 256 }, (_, k) => k / 127.5 - 1);
  for (const [mean, logScale] of [[0.1, -3], [-0.98, -4], [0.5, -1]]) {
    const p = ops.discretizedGaussianLogLikelihood(Tensor.from(x, [256, 1]), Tensor.from(new Float32Array(256).fill(mean), [256, 1]),
      Tensor.from(new Float32Array(256).fill(logScale), [256, 1]));
    const total = p.reduce((s, v) => s + Math.exp(v), 0);
    assertClose([total], [1], { atol: 1e-6, rtol: 0 }, `sum of the bins' probabilities (mean ${mean}, log-scale ${logScale})`);
  }
  // A scale far below the bin width with the mean at the bin's centre: the bin holds all the mass (log P = 0).
  const centre = Tensor.from([10 / 127.5 - 1, -1, 1], [3, 1]);
  assertClose(ops.discretizedGaussianLogLikelihood(centre, centre, Tensor.from([-9, -9, -9], [3, 1])), [0, 0, 0],
    { atol: 1e-12, rtol: 0 }, 'tight scale at the centre');
  // A scale far above the bin width: P ≈ width · density = (2/255) φa(z) / σ, with φa the approximation's density.
  const sigma = 0.5, xv = 3 / 127.5 - 1, mv = 0.1, z = (xv - mv) / sigma;
  const h = 1e-5, density = (approxCdfRef(z + h) - approxCdfRef(z - h)) / (2 * h);
  const wide = ops.discretizedGaussianLogLikelihood(Tensor.from([xv], [1, 1]), Tensor.from([mv], [1, 1]), Tensor.from([Math.log(sigma)], [1, 1]))[0];
  assertClose([wide], [Math.log((2 / 255) * density / sigma)], { atol: 1e-4, rtol: 0 }, 'wide scale');
  // The clamp: the top bin, 100 sigma above a mean of 0, has probability below 1e-12.
  const top = ops.discretizedGaussianLogLikelihood(Tensor.from([1], [1, 1]), Tensor.from([0], [1, 1]), Tensor.from([Math.log(0.01)], [1, 1]))[0];
  assert.is(top, Math.log(1e-12));
});

/** A backward kernel and its twin on fresh gradients that hold `prior`; asserts identical bits; returns the grads. */
function backwardTwins(name: string, N: number, M: number, dOut: Float64Array, inputs: Tensor[], prior: Float32Array[]): Float32Array[] {
  const results: Float32Array[][] = [];
  for (const kernel of [name, `${name}Scalar`]) {
    const grads = prior.map((p) => Tensor.from(p, [N, M]));
    const ptr = allocator.alloc(8 * N);
    new Float64Array(wasm().memory.buffer, ptr, N).set(dOut);
    run(kernel, grads[0].ptr, grads[1].ptr, ptr, ...inputs.map((t) => t.ptr), N, M);
    allocator.release(ptr);
    results.push(grads.map((g) => g.toFloat32Array()));
    grads.forEach((g) => g.dispose());
  }
  results[0].forEach((g, k) => assert.equal(Array.from(g), Array.from(results[1][k]), `${name}: SIMD and scalar twin differ in gradient ${k}`));
  return results[0];
}

const BACKWARDS = [
  { kernel: 'normalKLBackward', family: FAMILIES[0], wrt: [2, 3] },
  { kernel: 'gaussianLogLikelihoodBackward', family: FAMILIES[1], wrt: [1, 2] },
  { kernel: 'discretizedGaussianLogLikelihoodBackward', family: FAMILIES[2], wrt: [1, 2] },
];

for (const { kernel, family, wrt } of BACKWARDS) {
  test(`${kernel}: twins agree bit for bit, add into their buffers, and match finite differences of the float64 reference`, () => {
    for (const [N, M] of [[1, 1], [2, 3], [2, 9]] as [number, number][]) {
      const data = family.inputs(N * M, 7 + M);
      const inputs = data.map((d) => Tensor.from(d, [N, M]));
      const dOut = Float64Array.from({ length: N }, (_, n) => 0.5 + n);
      const prior = [values(N * M, 50, -1, 1), values(N * M, 51, -1, 1)];
      const grads = backwardTwins(kernel, N, M, dOut, inputs, prior);
      // L = sum_n dOut[n] · out[n], as a function of one input in float64.
      wrt.forEach((which, k) => {
        const loss = (v: Float64Array) => {
          const args = data.map((d, j) => (j === which ? v : d));
          return perItemRef(N, M, args, family.element).reduce((s, o, n) => s + dOut[n] * o, 0);
        };
        const numeric = finiteDifference(loss, Float64Array.from(data[which]), 1e-6);
        const analytic = grads[k].map((g, i) => g - prior[k][i]);
        assertClose(analytic, numeric, { atol: 2e-5, rtol: 1e-3 }, `${kernel} [${N}, ${M}] gradient ${k}`);
      });
      inputs.forEach((t) => t.dispose());
    }
  });
}

test('the backward ops: null skips a gradient, a given tensor accumulates, absent allocates zeros', () => {
  const m1 = Tensor.from([0.2, -0.4], [1, 2]), lv1 = Tensor.from([-1, -2], [1, 2]), m2 = Tensor.from([0, 0], [1, 2]), lv2 = Tensor.from([-1.5, -1.5], [1, 2]);
  const fresh = ops.normalKLBackward([1], m1, lv1, m2, lv2);
  const into = Tensor.from([1, 1], [1, 2]);
  const { dMean2, dLogVar2 } = ops.normalKLBackward([1], m1, lv1, m2, lv2, { dMean2: into, dLogVar2: null });
  assert.is(dLogVar2, null);
  assert.is(dMean2, into);
  // One rounding to float32 after the add (in float64) instead of two: within an ulp of 2 (2.4e-7).
  assertClose(into, fresh.dMean2.toFloat32Array().map((v) => v + 1), { atol: 2.4e-7, rtol: 0 }, 'accumulated');
  const x = Tensor.from([0.5], [1, 1]);
  const g = ops.gaussianLogLikelihoodBackward([2], x, Tensor.from([0], [1, 1]), Tensor.from([0], [1, 1]));
  assertClose(g.dMeans, [2 * 0.5], { atol: 1e-7, rtol: 0 }, 'dMeans');
  assertClose(g.dLogScales, [2 * (0.25 - 1)], { atol: 1e-7, rtol: 0 }, 'dLogScales');
});

test('the ops check their arguments before any call into WebAssembly, and free what they allocated', () => {
  const a = Tensor.from([0, 0], [1, 2]), b = Tensor.from([0, 0, 0], [1, 3]);
  assert.throws(() => ops.normalKL(a, a, b, a), /normalKL: mean2 must have the shape of mean1: mean1 \[1, 2\], mean2 \[1, 3\]/);
  assert.throws(() => ops.gaussianLogLikelihood(a, a, 3 as unknown as Tensor), /gaussianLogLikelihood: logScales must be a Tensor, got 3/);
  const scalar = Tensor.from([1], []);
  assert.throws(() => ops.discretizedGaussianLogLikelihood(scalar, scalar, scalar), /discretizedGaussianLogLikelihood: x must have a batch dimension \[N, \.\.\.\], got a scalar/);
  const before = memoryStats().liveBytes;
  assert.throws(() => ops.normalKLBackward([1, 2], a, a, a, a), /normalKLBackward: dOut has 2 values, the inputs have 1 items/);
  assert.throws(() => ops.gaussianLogLikelihoodBackward([NaN], a, a, a), /gaussianLogLikelihoodBackward: dOut\[0\] must be a finite number, got NaN/);
  assert.throws(() => ops.discretizedGaussianLogLikelihoodBackward([1], a, a, a, { dMeans: b }),
    /discretizedGaussianLogLikelihoodBackward: into.dMeans must have shape \[1, 2\], got \[1, 3\]/);
  assert.is(memoryStats().liveBytes, before, 'no allocation survives a refused call');
});

test.run();
