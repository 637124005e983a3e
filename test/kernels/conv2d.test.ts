import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, toF64 } from '../helpers.ts';
import { conv2dBackwardRef, conv2dRef, outHeight, outWidth, type ConvDims } from '../ref/conv2d.ts';

await init();

// [N, C, H, W, K, R, S, stride, padding]: batch 1, C = 3 and 5, K = 1 and 7, odd sizes, 1x1, 1x3, 3x3, 5x5,
// strides 1, 2 and 3, paddings 0-2, inputs smaller than the kernel made valid by padding, and shapes large
// enough to be split into several column panels (C = 64: 576-long patches).
const SHAPES: number[][] = [
  [1, 3, 5, 7, 1, 3, 3, 1, 1],
  [2, 5, 9, 9, 7, 3, 3, 2, 1],
  [2, 3, 5, 7, 7, 3, 3, 1, 0],
  [1, 5, 9, 9, 7, 3, 3, 2, 2],
  [1, 3, 9, 9, 7, 1, 1, 1, 0],
  [2, 5, 7, 5, 7, 1, 1, 2, 0],
  [1, 3, 5, 7, 1, 1, 1, 1, 1],
  [1, 3, 9, 9, 7, 5, 5, 1, 2],
  [2, 5, 9, 7, 7, 5, 5, 2, 0],
  [2, 3, 5, 7, 7, 1, 3, 1, 1],
  [1, 5, 7, 9, 7, 1, 3, 2, 2],
  [1, 3, 11, 10, 7, 3, 3, 3, 1],
  [3, 3, 2, 3, 7, 3, 3, 1, 1],
  [1, 3, 1, 1, 7, 3, 3, 1, 1],
  [2, 5, 2, 2, 1, 5, 5, 2, 2],
  [1, 64, 20, 17, 3, 3, 3, 1, 1],
  [1, 64, 39, 39, 3, 3, 3, 2, 1],
];

const dimsOf = ([N, C, H, W, K, R, S, stride, padding]: number[]): ConvDims => ({ N, C, H, W, K, R, S, stride, padding });
const label = (d: ConvDims) =>
  `x [${d.N}, ${d.C}, ${d.H}, ${d.W}], w [${d.K}, ${d.C}, ${d.R}, ${d.S}], stride ${d.stride}, padding ${d.padding}`;
const kernelArgs = (d: ConvDims) => [d.N, d.C, d.H, d.W, d.K, d.R, d.S, d.stride, d.padding] as const;
/** float32 sums of `terms` products of values in [-1, 1): error grows like sqrt(terms). */
const tolFor = (terms: number) => ({ atol: 1e-6 * Math.sqrt(terms), rtol: 1e-5 });

function inputs(d: ConvDims, seed: number) {
  const OH = outHeight(d), OW = outWidth(d);
  return {
    x: randomTensor([d.N, d.C, d.H, d.W], seed),
    w: randomTensor([d.K, d.C, d.R, d.S], seed + 1),
    b: randomTensor([d.K], seed + 2),
    dy: randomTensor([d.N, d.K, OH, OW], seed + 3),
  };
}

for (const shape of SHAPES) {
  const d = dimsOf(shape);
  const OH = outHeight(d), OW = outWidth(d);

  test(`conv2d forward ${label(d)}: SIMD, scalar twin and float64 reference agree`, () => {
    tidy(() => {
      const { x, w, b } = inputs(d, 11);
      const tol = tolFor(d.C * d.R * d.S);
      for (const bias of [b, null]) {
        const y = ops.conv2d(x, w, bias, { stride: d.stride, padding: d.padding });
        assert.equal(y.shape, [d.N, d.K, OH, OW]);
        const scalar = Tensor.zeros(y.shape);
        wasm().conv2dForwardScalar(scalar.ptr, x.ptr, w.ptr, bias?.ptr ?? 0, 0, ...kernelArgs(d));
        const ref = conv2dRef(toF64(x), toF64(w), bias && toF64(bias), d);
        assertClose(y, ref, tol, `SIMD vs float64${bias ? '' : ' (no bias)'}`);
        assertClose(scalar, ref, tol, `scalar vs float64${bias ? '' : ' (no bias)'}`);
      }
    });
  });

  test(`conv2d backward ${label(d)}: SIMD, scalar twin and float64 reference agree, twins ADD`, () => {
    tidy(() => {
      const { x, w, dy } = inputs(d, 23);
      const { dx, dw, db } = ops.conv2dBackward(dy, x, w, { stride: d.stride, padding: d.padding });
      const ref = conv2dBackwardRef(toF64(dy), toF64(x), toF64(w), d);
      assertClose(dx!, ref.dx, tolFor(d.K * d.R * d.S), 'SIMD dx');
      assertClose(dw!, ref.dw, tolFor(d.N * OH * OW), 'SIMD dw');
      assertClose(db!, ref.db, tolFor(d.N * OH * OW), 'SIMD db');
      // The scalar twins start from a seeded gradient, which they must add to.
      const sdx = randomTensor(x.shape, 5), sdw = randomTensor(w.shape, 6), sdb = randomTensor([d.K], 7);
      const plus = (t: Tensor, g: Float64Array) => toF64(t).map((v, i) => v + g[i]);
      const [dx0, dw0, db0] = [plus(sdx, ref.dx), plus(sdw, ref.dw), plus(sdb, ref.db)];
      wasm().conv2dBackwardInputScalar(sdx.ptr, dy.ptr, w.ptr, 0, ...kernelArgs(d));
      wasm().conv2dBackwardWeightScalar(sdw.ptr, sdb.ptr, dy.ptr, x.ptr, 0, ...kernelArgs(d));
      assertClose(sdx, dx0, tolFor(d.K * d.R * d.S), 'scalar dx');
      assertClose(sdw, dw0, tolFor(d.N * OH * OW), 'scalar dw');
      assertClose(sdb, db0, tolFor(d.N * OH * OW), 'scalar db');
    });
  });
}

// Finite differences check the float64 reference's gradients, which the tests above hold the kernels to.
for (const shape of [[2, 3, 5, 7, 4, 3, 3, 2, 1], [1, 2, 4, 5, 3, 1, 3, 1, 2], [1, 2, 3, 3, 2, 5, 5, 2, 2]]) {
  const d = dimsOf(shape);
  test(`conv2d float64 gradients match central finite differences: ${label(d)}`, () => {
    tidy(() => {
      const { x, w, b, dy } = inputs(d, 31);
      const [x64, w64, b64, r] = [toF64(x), toF64(w), toF64(b), toF64(dy)];
      const loss = (xs: Float64Array, ws: Float64Array, bs: Float64Array) => dot(conv2dRef(xs, ws, bs, d), r);
      const grads = conv2dBackwardRef(r, x64, w64, d);
      const tol = { atol: 1e-7, rtol: 1e-7 };
      const fdX = finiteDifference((v) => loss(v, w64, b64), x64);
      const fdW = finiteDifference((v) => loss(x64, v, b64), w64);
      assertClose(grads.dx, fdX, tol, 'dx vs finite differences');
      assertClose(grads.dw, fdW, tol, 'dw vs finite differences');
      assertClose(grads.db, finiteDifference((v) => loss(x64, w64, v), b64), tol, 'db vs finite differences');
      // And the float32 kernels against the same finite differences, at float32 tolerance.
      const simd = ops.conv2dBackward(dy, x, w, { stride: d.stride, padding: d.padding });
      assertClose(simd.dx!, fdX, { atol: 1e-5, rtol: 1e-4 }, 'SIMD dx vs finite differences');
      assertClose(simd.dw!, fdW, { atol: 1e-5, rtol: 1e-4 }, 'SIMD dw vs finite differences');
    });
  });
}

for (const shape of [[2, 3, 9, 7, 5, 3, 3, 2, 1], [2, 5, 7, 5, 7, 1, 1, 1, 0]]) {
  const d = dimsOf(shape);
  test(`conv2dBackward adds into \`into\` tensors and returns them; null skips a gradient: ${label(d)}`, () => {
    tidy(() => {
      const opts = { stride: d.stride, padding: d.padding };
      const { x, w, dy } = inputs(d, 41);
      const fresh = ops.conv2dBackward(dy, x, w, opts);
      const into = { dx: randomTensor(x.shape, 1), dw: randomTensor(w.shape, 2), db: randomTensor([d.K], 3) };
      const before = { dx: toF64(into.dx), dw: toF64(into.dw), db: toF64(into.db) };
      const got = ops.conv2dBackward(dy, x, w, opts, into);
      assert.is(got.dx, into.dx); assert.is(got.dw, into.dw); assert.is(got.db, into.db);
      for (const name of ['dx', 'dw', 'db'] as const) {
        const expected = toF64(fresh[name]!).map((v, i) => v + before[name][i]);
        assertClose(into[name], expected, { atol: 1e-6, rtol: 1e-6 }, `into.${name}`);
      }
      const noDx = ops.conv2dBackward(dy, x, w, opts, { dx: null });
      assert.is(noDx.dx, null);
      assert.equal(noDx.dw!.toFloat32Array(), fresh.dw!.toFloat32Array());
      assert.equal(noDx.db!.toFloat32Array(), fresh.db!.toFloat32Array());
      const onlyDb = ops.conv2dBackward(dy, x, w, opts, { dx: null, dw: null });
      assert.is(onlyDb.dw, null);
      assert.equal(onlyDb.db!.toFloat32Array(), fresh.db!.toFloat32Array());
      const noDb = ops.conv2dBackward(dy, x, w, opts, { db: null, dx: null });
      assert.is(noDb.db, null);
      assert.equal(noDb.dw!.toFloat32Array(), fresh.dw!.toFloat32Array());
    });
  });
}

test('an image gets the same bits alone as inside a batch (forward and backward input)', () => {
  tidy(() => {
    for (const shape of [[5, 64, 20, 17, 6, 3, 3, 1, 1], [5, 5, 9, 9, 7, 3, 3, 2, 1], [5, 9, 6, 5, 7, 1, 1, 1, 0]]) {
      const d = dimsOf(shape);
      const opts = { stride: d.stride, padding: d.padding };
      const { x, w, b, dy } = inputs(d, 51);
      const one = (t: Tensor) => {
        const size = t.size / d.N;
        return Tensor.from(t.view().subarray(3 * size, 4 * size), [1, ...t.shape.slice(1)]);
      };
      const y = ops.conv2d(x, w, b, opts), yAlone = ops.conv2d(one(x), w, b, opts);
      assert.equal(one(y).toFloat32Array(), yAlone.toFloat32Array(), `y, ${label(d)}`);
      const dx = ops.conv2dBackward(dy, x, w, opts, { dw: null, db: null }).dx!;
      const dxAlone = ops.conv2dBackward(one(dy), one(x), w, opts, { dw: null, db: null }).dx!;
      assert.equal(one(dx).toFloat32Array(), dxAlone.toFloat32Array(), `dx, ${label(d)}`);
    }
  });
});

test('conv2d with an empty batch or zero input channels: empty output, or the bias alone', () => {
  tidy(() => {
    const w = randomTensor([4, 3, 3, 3], 1), b = randomTensor([4], 2);
    assert.equal(ops.conv2d(Tensor.zeros([0, 3, 5, 5]), w, b, { padding: 1 }).shape, [0, 4, 5, 5]);
    const y = ops.conv2d(randomTensor([2, 0, 5, 5], 3), Tensor.zeros([4, 0, 3, 3]), b, { padding: 1 });
    const bias = b.toFloat32Array();
    assert.equal(y.toFloat32Array(), Float32Array.from({ length: y.size }, (_, i) => bias[Math.floor(i / 25) % 4]));
    const dy = randomTensor([2, 4, 5, 5], 4);
    const { dx, dw, db } = ops.conv2dBackward(dy, randomTensor([2, 0, 5, 5], 3), Tensor.zeros([4, 0, 3, 3]), { padding: 1 });
    assert.equal([dx!.size, dw!.size], [0, 0]);
    const ref = conv2dBackwardRef(toF64(dy), new Float64Array(0), new Float64Array(0), dimsOf([2, 0, 5, 5, 4, 3, 3, 1, 1]));
    assertClose(db!, ref.db, tolFor(50), 'db');
  });
});

test('conv2d and conv2dBackward reject bad inputs before calling the kernels, naming the shapes', () => {
  tidy(() => {
    const x = Tensor.zeros([2, 3, 32, 32]), w = Tensor.zeros([8, 3, 3, 3]), b = Tensor.zeros([8]);
    const dy = Tensor.zeros([2, 8, 30, 30]);
    const throws = (fn: () => unknown, message: string) => {
      try { fn(); } catch (e) { assert.is((e as Error).message, message); return; }
      assert.unreachable(`expected the error: ${message}`);
    };
    throws(() => ops.conv2d(x, Tensor.zeros([8, 4, 3, 3]), null),
      'conv2d: weight has 4 input channels, x has 3 (x [2, 3, 32, 32], weight [8, 4, 3, 3])');
    throws(() => ops.conv2d(Tensor.zeros([3, 32, 32]), w, null), 'conv2d: x must have rank 4 [N, C, H, W], got shape [3, 32, 32]');
    throws(() => ops.conv2d(x, Tensor.zeros([8, 3, 3]), null), 'conv2d: weight must have rank 4 [K, C, R, S], got shape [8, 3, 3]');
    throws(() => ops.conv2d(x.view() as never, w, null), 'conv2d: x must be a Tensor, got object');
    throws(() => ops.conv2d(x, w, Tensor.zeros([7])), 'conv2d: bias must be [8] for weight [8, 3, 3, 3], got [7]');
    throws(() => ops.conv2d(x, w, Tensor.zeros([1, 8])), 'conv2d: bias must have rank 1 [K], got shape [1, 8]');
    throws(() => ops.conv2d(x, w, b, { stride: 0 }), 'conv2d: stride must be an integer >= 1, got 0');
    throws(() => ops.conv2d(x, w, b, { stride: 1.5 }), 'conv2d: stride must be an integer >= 1, got 1.5');
    throws(() => ops.conv2d(x, w, b, { padding: -1 }), 'conv2d: padding must be an integer >= 0, got -1');
    throws(() => ops.conv2d(x, w, b, { padding: '1' as never }), "conv2d: padding must be an integer >= 0, got '1'");
    throws(() => ops.conv2d(Tensor.zeros([1, 3, 2, 9]), Tensor.zeros([4, 3, 5, 3]), null, { padding: 1 }),
      'conv2d: the output would be empty (0 x 9): kernel 5 x 3 does not fit the padded input 4 x 11 ' +
      '(x [1, 3, 2, 9], weight [4, 3, 5, 3], padding 1)');
    throws(() => ops.conv2dBackward(Tensor.zeros([2, 8, 32, 32]), x, w),
      'conv2dBackward: dy must have the shape of y: y [2, 8, 30, 30], dy [2, 8, 32, 32]');
    throws(() => ops.conv2dBackward(Tensor.zeros([2, 8, 900]), x, w),
      'conv2dBackward: dy must have rank 4 [N, K, OH, OW], got shape [2, 8, 900]');
    throws(() => ops.conv2dBackward(dy, x, w, { stride: 0 }), 'conv2dBackward: stride must be an integer >= 1, got 0');
    throws(() => ops.conv2dBackward(dy, x, Tensor.zeros([8, 2, 3, 3])),
      'conv2dBackward: weight has 2 input channels, x has 3 (x [2, 3, 32, 32], weight [8, 2, 3, 3])');
    throws(() => ops.conv2dBackward(dy, x, w, {}, { dw: Tensor.zeros([8, 3, 1, 1]) }),
      'conv2dBackward: into.dw must have shape [8, 3, 3, 3], got [8, 3, 1, 1]');
    throws(() => ops.conv2dBackward(dy, x, w, {}, { db: Tensor.zeros([3]) }),
      'conv2dBackward: into.db must have shape [8], got [3]');
  });
});

test.run();
