import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, seededFloats, toF64 } from '../helpers.ts';
import { groupNormBackwardRef, groupNormRef, type GroupNormCase } from '../ref/groupnorm.ts';

await init();

interface Inputs {
  x: Tensor; gamma: Tensor; beta: Tensor; scale?: Tensor; shift?: Tensor; dy: Tensor;
  ref: GroupNormCase; N: number; C: number; HW: number; G: number; eps: number;
}

/** Seeded inputs: x = offset + noise·u, gamma = 1 + 0.3u, beta = 0.3u, scale and shift = 0.5u (AdaGN). */
function inputs(shape: number[], G: number, adagn: boolean, seed: number, offset = 0, noise = 1): Inputs {
  const [N, C] = shape, HW = shape.slice(2).reduce((a, b) => a * b, 1), eps = 1e-5;
  const xData = seededFloats(N * C * HW, seed).map((u) => offset + noise * u);
  const x = Tensor.from(xData, shape);
  const gamma = Tensor.from(seededFloats(C, seed + 1).map((u) => 1 + 0.3 * u), [C]);
  const beta = randomTensor([C], seed + 2, 0.3);
  const scale = adagn ? randomTensor([N, C], seed + 3, 0.5) : undefined;
  const shift = adagn ? randomTensor([N, C], seed + 4, 0.5) : undefined;
  const dy = randomTensor(shape, seed + 5);
  const ref: GroupNormCase = {
    x: toF64(x), gamma: toF64(gamma), beta: toF64(beta), scale: scale && toF64(scale), shift: shift && toF64(shift),
    N, C, HW, G, eps,
  };
  return { x, gamma, beta, scale, shift, dy, ref, N, C, HW, G, eps };
}

const ptr = (t?: Tensor) => (t ? t.ptr : 0);

function scalarForward(t: Inputs) {
  const y = new Tensor(t.x.shape), mean = new Tensor([t.N, t.G]), rstd = new Tensor([t.N, t.G]);
  wasm().groupNormForwardScalar(y.ptr, mean.ptr, rstd.ptr, t.x.ptr, t.gamma.ptr, t.beta.ptr, ptr(t.scale),
    ptr(t.shift), t.N, t.C, t.HW, t.G, t.eps);
  return { y, mean, rstd };
}

function scalarBackward(t: Inputs, mean: Tensor, rstd: Tensor) {
  const dx = Tensor.zeros(t.x.shape), dgamma = Tensor.zeros([t.C]), dbeta = Tensor.zeros([t.C]);
  const dscale = Tensor.zeros([t.N, t.C]), dshift = Tensor.zeros([t.N, t.C]);
  wasm().groupNormBackwardScalar(dx.ptr, dgamma.ptr, dbeta.ptr, dscale.ptr, dshift.ptr, t.dy.ptr, t.x.ptr, mean.ptr,
    rstd.ptr, t.gamma.ptr, t.beta.ptr, ptr(t.scale), t.N, t.C, t.HW, t.G);
  return { dx, dgamma, dbeta, dscale, dshift };
}

const modulation = (t: Inputs) => (t.scale ? { scale: t.scale, shift: t.shift } : {});
const backwardOptions = (t: Inputs) => ({ ...modulation(t), beta: t.beta });

// Tolerances, measured against float64 with a margin: outputs are O(1); dx sums a few O(rstd) terms.
const OUTPUT = { atol: 1e-6, rtol: 1e-5 };
const GRADIENT = { atol: 1e-5, rtol: 1e-5 };
// About two float32 ulps of an O(1) value.
const FLOAT32 = { atol: 3e-7, rtol: 3e-7 };

// Awkward shapes: batch 1, C = 3 and 5, G = 1 and G = C, HW = 1, odd HW (7x5, 33x33), rank 2 and 3, groups
// larger than the 1024-float summation block, and more channels per group (1030) than the backward keeps in
// its scratch (1024).
const SHAPES: [number[], number][] = [
  [[1, 3, 4, 4], 1], [[1, 3, 4, 4], 3], [[2, 5, 7, 5], 5], [[2, 5, 7, 5], 1], [[3, 6, 1, 1], 2],
  [[2, 6], 3], [[1, 5], 1], [[2, 4, 9], 2], [[1, 8, 3, 3], 8], [[2, 64, 8, 8], 32], [[1, 4, 33, 33], 2],
  [[1, 2, 40, 40], 1], [[2, 12, 5], 4], [[2, 1030, 3], 1],
];

for (const [shape, G] of SHAPES) {
  for (const adagn of [false, true]) {
    const name = `groupNorm [${shape}] G=${G}${adagn ? ' AdaGN' : ''}`;
    test(`${name}: SIMD = scalar twin ~ float64 reference, forward and backward`, () => {
      tidy(() => {
        const t = inputs(shape, G, adagn, shape.reduce((a, b) => a * 7 + b, G));
        const ref = groupNormRef(t.ref);
        const simd = ops.groupNormForward(t.x, G, t.gamma, t.beta, t.eps, modulation(t));
        assert.equal(simd.y.shape, shape);
        assert.equal(simd.mean.shape, [t.N, G]);
        const scalar = scalarForward(t);
        for (const [label, out] of [['SIMD', simd], ['scalar', scalar]] as const) {
          assertClose(out.y, ref.y, OUTPUT, `${label} y`);
          assertClose(out.mean, ref.mean, { atol: 1e-7, rtol: 1e-6 }, `${label} mean`);
          assertClose(out.rstd, ref.rstd, { atol: 0, rtol: 1e-6 }, `${label} rstd`);
        }

        const refGrads = groupNormBackwardRef(t.ref, toF64(t.dy));
        const grads = ops.groupNormBackward(t.dy, t.x, G, t.gamma, t.eps, backwardOptions(t));
        const scalarGrads = scalarBackward(t, scalar.mean, scalar.rstd);
        for (const key of ['dx', 'dgamma', 'dbeta', 'dscale', 'dshift'] as const) {
          if (adagn || (key !== 'dscale' && key !== 'dshift')) assertClose(grads[key]!, refGrads[key], GRADIENT, `SIMD ${key}`);
          assertClose(scalarGrads[key], refGrads[key], GRADIENT, `scalar ${key}`);
        }
        assert.is(grads.dscale === null, !adagn);
      });
    });
  }
}

test('every gradient matches central finite differences of the float64 reference', () => {
  const cases: [number[], number, boolean][] = [
    [[2, 6, 3], 3, true], [[1, 3, 7, 5], 1, true], [[2, 4], 2, true], [[1, 3, 2, 2], 3, true], [[2, 5, 3], 5, false],
  ];
  for (const [shape, G, adagn] of cases) {
    tidy(() => {
      const t = inputs(shape, G, adagn, 11 + G);
      const r = toF64(t.dy);
      const grads = ops.groupNormBackward(t.dy, t.x, G, t.gamma, t.eps, backwardOptions(t));
      const params = ['x', 'gamma', 'beta', 'scale', 'shift'] as const;
      for (const p of adagn ? params : params.slice(0, 3)) {
        const loss = (v: Float64Array) => dot(groupNormRef({ ...t.ref, [p]: v }).y, r);
        const numeric = finiteDifference(loss, Float64Array.from(t.ref[p]!));
        assertClose(grads[`d${p}`]!, numeric, GRADIENT, `d${p} [${shape}] G=${G}`);
      }
    });
  }
});

test('a large mean relative to the spread (x = 1000 + 0.1u): output and gradients still right to float32 precision', () => {
  tidy(() => {
    for (const adagn of [false, true]) {
      const t = inputs([2, 6, 9, 7], 3, adagn, 5, 1000, 0.1);
      const ref = groupNormRef(t.ref);
      const { y, mean, rstd } = ops.groupNormForward(t.x, 3, t.gamma, t.beta, t.eps, modulation(t));
      assertClose(y, ref.y, FLOAT32, 'SIMD y');
      assertClose(scalarForward(t).y, ref.y, FLOAT32, 'scalar y');
      assertClose(mean, ref.mean, { atol: 0, rtol: 1e-7 }, 'mean');
      assertClose(rstd, ref.rstd, { atol: 0, rtol: 1e-6 }, 'rstd');
      const refGrads = groupNormBackwardRef(t.ref, toF64(t.dy));
      const grads = ops.groupNormBackwardWithStatistics(t.dy, t.x, mean, rstd, t.gamma, backwardOptions(t));
      assertClose(grads.dx!, refGrads.dx, GRADIENT, 'dx');
      assertClose(grads.dgamma!, refGrads.dgamma, GRADIENT, 'dgamma');
    }
  });
});

test('kernels treat absent gamma and beta (pointer 0) as ones and zeros', () => {
  tidy(() => {
    const t = inputs([2, 6, 5], 2, true, 3);
    const ones = { ...t.ref, gamma: new Float64Array(6).fill(1), beta: new Float64Array(6) };
    for (const forward of [wasm().groupNormForward, wasm().groupNormForwardScalar]) {
      const y = new Tensor([2, 6, 5]);
      forward(y.ptr, 0, 0, t.x.ptr, 0, 0, t.scale!.ptr, t.shift!.ptr, 2, 6, 5, 2, t.eps);
      assertClose(y, groupNormRef(ones).y, OUTPUT, 'y');
    }
  });
});

test('what a sample gets does not depend on the batch; parameter gradients add up sample by sample', () => {
  tidy(() => {
    const t = inputs([3, 6, 5, 5], 3, true, 21);
    const full = ops.groupNormForward(t.x, 3, t.gamma, t.beta, t.eps, modulation(t));
    const fullGrads = ops.groupNormBackward(t.dy, t.x, 3, t.gamma, t.eps, backwardOptions(t));
    const dgamma = Tensor.zeros([6]), dbeta = Tensor.zeros([6]);
    for (let n = 0; n < 3; n++) {
      const x = t.x.subview(n * 150, [1, 6, 5, 5]), dy = t.dy.subview(n * 150, [1, 6, 5, 5]);
      const scale = t.scale!.subview(n * 6, [1, 6]), shift = t.shift!.subview(n * 6, [1, 6]);
      const y = ops.groupNorm(x, 3, t.gamma, t.beta, t.eps, { scale, shift });
      assert.equal(Array.from(y.toFloat32Array()), Array.from(full.y.toFloat32Array().subarray(n * 150, n * 150 + 150)));
      const g = ops.groupNormBackward(dy, x, 3, t.gamma, t.eps, { scale, shift, beta: t.beta }, { dgamma, dbeta });
      assert.equal(Array.from(g.dx!.toFloat32Array()), Array.from(fullGrads.dx!.toFloat32Array().subarray(n * 150, n * 150 + 150)));
      assert.equal(Array.from(g.dscale!.toFloat32Array()), Array.from(fullGrads.dscale!.toFloat32Array().subarray(n * 6, n * 6 + 6)));
    }
    assert.equal(Array.from(dgamma.toFloat32Array()), Array.from(fullGrads.dgamma!.toFloat32Array()));
    assert.equal(Array.from(dbeta.toFloat32Array()), Array.from(fullGrads.dbeta!.toFloat32Array()));
  });
});

test('groupNorm = groupNormForward; groupNormBackward = groupNormBackwardWithStatistics (bit for bit)', () => {
  tidy(() => {
    const t = inputs([2, 8, 6, 3], 4, true, 8);
    const saved = ops.groupNormForward(t.x, 4, t.gamma, t.beta, t.eps, modulation(t));
    assert.equal(Array.from(ops.groupNorm(t.x, 4, t.gamma, t.beta, t.eps, modulation(t)).toFloat32Array()), Array.from(saved.y.toFloat32Array()));
    const a = ops.groupNormBackward(t.dy, t.x, 4, t.gamma, t.eps, backwardOptions(t));
    const b = ops.groupNormBackwardWithStatistics(t.dy, t.x, saved.mean, saved.rstd, t.gamma, backwardOptions(t));
    for (const key of ['dx', 'dgamma', 'dbeta', 'dscale', 'dshift'] as const) {
      assert.equal(Array.from(a[key]!.toFloat32Array()), Array.from(b[key]!.toFloat32Array()), key);
    }
  });
});

test('into: gradients are added into the given tensors; null skips a gradient and leaves the others unchanged', () => {
  tidy(() => {
    const t = inputs([2, 6, 4, 3], 3, true, 9);
    const fresh = ops.groupNormBackward(t.dy, t.x, 3, t.gamma, t.eps, backwardOptions(t));
    const into = {
      dx: randomTensor([2, 6, 4, 3], 90), dgamma: randomTensor([6], 91), dbeta: randomTensor([6], 92),
      dscale: randomTensor([2, 6], 93), dshift: randomTensor([2, 6], 94),
    };
    const before = Object.fromEntries(Object.entries(into).map(([k, v]) => [k, v.toFloat32Array()]));
    const added = ops.groupNormBackward(t.dy, t.x, 3, t.gamma, t.eps, backwardOptions(t), into);
    for (const key of ['dx', 'dgamma', 'dbeta', 'dscale', 'dshift'] as const) {
      assert.ok(added[key] === into[key], `${key} is the given tensor`);
      const expected = before[key].map((v, i) => v + fresh[key]!.toFloat32Array()[i]);
      assertClose(added[key]!, expected, { atol: 1e-6, rtol: 1e-6 }, `${key} accumulated`);
    }
    // dx gets one addition per element: exactly fround(old + fresh).
    assert.equal(Array.from(into.dx.toFloat32Array()), Array.from(before.dx.map((v, i) => Math.fround(v + fresh.dx!.toFloat32Array()[i]))));

    const onlyDx = ops.groupNormBackward(t.dy, t.x, 3, t.gamma, t.eps, modulation(t),
      { dgamma: null, dbeta: null, dscale: null, dshift: null });
    assert.equal(Object.entries(onlyDx).filter(([, g]) => g !== null).map(([k]) => k), ['dx']);
    assert.equal(Array.from(onlyDx.dx!.toFloat32Array()), Array.from(fresh.dx!.toFloat32Array()));
    const noDx = ops.groupNormBackward(t.dy, t.x, 3, t.gamma, t.eps, backwardOptions(t), { dx: null });
    assert.equal(Object.entries(noDx).filter(([, g]) => g !== null).map(([k]) => k).sort(), ['dbeta', 'dgamma', 'dscale', 'dshift']);
    for (const key of ['dgamma', 'dbeta', 'dscale', 'dshift'] as const) {
      assert.equal(Array.from(noDx[key]!.toFloat32Array()), Array.from(fresh[key]!.toFloat32Array()), key);
    }
  });
});

test('bad inputs throw before any wasm call, naming the op, the argument and the shapes', () => {
  tidy(() => {
    const x = Tensor.zeros([2, 64, 8, 8]), gamma = Tensor.zeros([64]), beta = Tensor.zeros([64]);
    const scale = Tensor.zeros([2, 64]), shift = Tensor.zeros([2, 64]), dy = Tensor.zeros([2, 64, 8, 8]);
    const bad = Tensor.zeros([32]), vector = Tensor.zeros([5]), row = Tensor.zeros([1, 64]), wide = Tensor.zeros([64]);
    const short = Tensor.zeros([2, 64, 8]), stats3 = Tensor.zeros([2, 3]), stats1 = Tensor.zeros([1, 32]);
    const stats32 = Tensor.zeros([2, 32]), stats16 = Tensor.zeros([2, 16]);
    const liveBefore = memoryStats().liveBytes;
    const cases: [() => unknown, string][] = [
      [() => ops.groupNorm(x, 3, gamma, beta), 'groupNorm: groups (3) must divide the channels (64) of x [2, 64, 8, 8]'],
      [() => ops.groupNorm(x, 0, gamma, beta), 'groupNorm: groups must be an integer >= 1, got 0'],
      [() => ops.groupNorm(x, 2.5, gamma, beta), 'groupNorm: groups must be an integer >= 1, got 2.5'],
      [() => ops.groupNorm(vector, 1, gamma, beta), 'groupNorm: x must have rank >= 2 [N, C, ...spatial], got shape [5]'],
      [() => ops.groupNorm(new Float32Array(4) as never, 1, gamma, beta), 'groupNorm: x must be a Tensor, got object'],
      [() => ops.groupNorm(x, 32, bad, beta), 'groupNorm: gamma must have shape [64] (the channels of x [2, 64, 8, 8]), got [32]'],
      [() => ops.groupNorm(x, 32, gamma, row), 'groupNorm: beta must have shape [64] (the channels of x [2, 64, 8, 8]), got [1, 64]'],
      [() => ops.groupNorm(x, 32, gamma, beta, 0), 'groupNorm: eps must be a finite positive number, got 0'],
      [() => ops.groupNorm(x, 32, gamma, beta, NaN), 'groupNorm: eps must be a finite positive number, got NaN'],
      [() => ops.groupNorm(x, 32, gamma, beta, 1e-5, { scale }), 'groupNorm: scale and shift must be given together (got only scale)'],
      [() => ops.groupNorm(x, 32, gamma, beta, 1e-5, { shift }), 'groupNorm: scale and shift must be given together (got only shift)'],
      [() => ops.groupNorm(x, 32, gamma, beta, 1e-5, { scale: wide, shift }), 'groupNorm: scale must have shape [2, 64] ([N, C] of x [2, 64, 8, 8]), got [64]'],
      [() => ops.groupNorm(x, 32, gamma, beta, 1e-5, { scale, shift: row }), 'groupNorm: shift must have shape [2, 64] ([N, C] of x [2, 64, 8, 8]), got [1, 64]'],
      [() => ops.groupNorm(x, 32, gamma, beta, 1e-5, null as never), 'groupNorm: the modulation must be an object { scale, shift } (or {}), got null'],
      [() => ops.groupNormForward(x, 5, gamma, beta), 'groupNormForward: groups (5) must divide the channels (64) of x [2, 64, 8, 8]'],
      [() => ops.groupNormBackward(short, x, 32, gamma), 'groupNormBackward: dy must have the shape of x: x [2, 64, 8, 8], dy [2, 64, 8]'],
      [() => ops.groupNormBackward(dy, x, 3, gamma), 'groupNormBackward: groups (3) must divide the channels (64) of x [2, 64, 8, 8]'],
      [() => ops.groupNormBackward(dy, x, 32, bad), 'groupNormBackward: gamma must have shape [64] (the channels of x [2, 64, 8, 8]), got [32]'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, -1), 'groupNormBackward: eps must be a finite positive number, got -1'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, {}, { dgamma: bad }), 'groupNormBackward: into.dgamma must have shape [64], got [32]'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, {}, { dx: gamma }), 'groupNormBackward: into.dx must have shape [2, 64, 8, 8], got [64]'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, {}, { dscale: scale }), 'groupNormBackward: into.dscale was given, but this call has no gradient dscale'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, { scale, shift, beta }, { dshift: gamma }), 'groupNormBackward: into.dshift must have shape [2, 64], got [64]'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, { scale, shift }), 'groupNormBackward: the gradient of scale needs beta: pass { scale, shift, beta }, or skip it with into.dscale = null'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, { scale, shift, beta: bad }), 'groupNormBackward: beta must have shape [64] (the channels of x [2, 64, 8, 8]), got [32]'],
      [() => ops.groupNormBackward(dy, x, 32, gamma, 1e-5, { scale }), 'groupNormBackward: scale and shift must be given together (got only scale)'],
      [() => ops.groupNormBackwardWithStatistics(dy, x, stats3, stats3, gamma), 'groupNormBackwardWithStatistics: groups (3) must divide the channels (64) of x [2, 64, 8, 8]'],
      [() => ops.groupNormBackwardWithStatistics(dy, x, stats1, stats1, gamma), 'groupNormBackwardWithStatistics: mean must be [2, groups] for x [2, 64, 8, 8], got [1, 32]'],
      [() => ops.groupNormBackwardWithStatistics(dy, x, stats32, stats16, gamma), 'groupNormBackwardWithStatistics: rstd must have the shape of mean: mean [2, 32], rstd [2, 16]'],
      [() => ops.groupNormBackwardWithStatistics(dy, x, wide, wide, gamma), 'groupNormBackwardWithStatistics: mean must have rank 2 [N, groups], got shape [64]'],
    ];
    for (const [call, message] of cases) {
      try {
        call();
        assert.unreachable(`no error; expected: ${message}`);
      } catch (e) {
        assert.is((e as Error).message, message);
      }
    }
    assert.is(memoryStats().liveBytes, liveBefore, 'nothing allocated by a rejected call');
    const gone = Tensor.zeros([2, 64, 8, 8]);
    gone.dispose();
    assert.throws(() => ops.groupNorm(gone, 32, gamma, beta), /groupNorm: x was disposed/);
  });
});

test.run();
