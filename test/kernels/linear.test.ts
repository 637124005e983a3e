import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, toF64 } from '../helpers.ts';
import { linearBackwardRef, linearRef } from '../ref/linear.ts';

await init();

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(t.toFloat32Array().buffer));

// [N, IN, OUT]: 1s, primes, sizes off the 4x8 tile, IN past gemm's 256-deep k blocks, N past them (dw sums N).
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 1], [3, 1, 5], [1, 5, 13], [5, 13, 7], [17, 4, 8], [7, 33, 65], [2, 300, 3], [300, 5, 2], [4, 257, 9],
];

for (const [N, IN, OUT] of SHAPES) {
  for (const withBias of [true, false]) {
    test(`linear N=${N} IN=${IN} OUT=${OUT}${withBias ? '' : ' (no bias)'}: SIMD = scalar twin ~ float64`, () => {
      tidy(() => {
        const x = randomTensor([N, IN], N * 31 + IN), w = randomTensor([OUT, IN], OUT * 7 + IN);
        const b = withBias ? randomTensor([OUT], OUT) : null;
        const y = ops.linear(x, w, b);
        assert.equal(y.shape, [N, OUT]);
        const scalar = new Tensor([N, OUT]);
        wasm().linearForwardScalar(scalar.ptr, x.ptr, w.ptr, b ? b.ptr : 0, N, IN, OUT);
        const ref = linearRef(toF64(x), toF64(w), b ? toF64(b) : null, N, IN, OUT);
        const tol = { atol: 1e-6 * Math.sqrt(IN + 1), rtol: 1e-5 };
        assertClose(y, ref, tol, 'SIMD vs float64');
        assertClose(scalar, ref, tol, 'scalar vs float64');
      });
    });

    test(`linearBackward N=${N} IN=${IN} OUT=${OUT}${withBias ? '' : ' (no bias)'}: SIMD = scalar twin ~ float64, added into`, () => {
      tidy(() => {
        const x = randomTensor([N, IN], 3 + N), w = randomTensor([OUT, IN], 4 + OUT), dy = randomTensor([N, OUT], 5 + IN);
        const prior = { dx: randomTensor([N, IN], 6), dw: randomTensor([OUT, IN], 7), db: randomTensor([OUT], 8) };
        const into = { dx: prior.dx.reshape([N, IN]), dw: prior.dw.reshape([OUT, IN]), db: withBias ? prior.db.reshape([OUT]) : null };
        const got = ops.linearBackward(dy, x, w, into);
        assert.ok(got.dx === into.dx && got.dw === into.dw && got.db === into.db, 'returns the tensors of `into`');
        const scalar = { dx: prior.dx.reshape([N, IN]), dw: prior.dw.reshape([OUT, IN]), db: prior.db.reshape([OUT]) };
        wasm().linearBackwardScalar(scalar.dx.ptr, scalar.dw.ptr, withBias ? scalar.db.ptr : 0, dy.ptr, x.ptr, w.ptr, N, IN, OUT);
        const ref = linearBackwardRef(toF64(dy), toF64(x), toF64(w), N, IN, OUT);
        const plus = (p: Tensor, g: Float64Array) => toF64(p).map((v, i) => v + g[i]);
        const checks: [string, Tensor | null, Tensor, Tensor, Float64Array, number][] = [
          ['dx', got.dx, scalar.dx, prior.dx, ref.dx, OUT], ['dw', got.dw, scalar.dw, prior.dw, ref.dw, N],
        ];
        if (withBias) checks.push(['db', got.db, scalar.db, prior.db, ref.db, N]);
        for (const [name, simd, twin, before, g, terms] of checks) {
          const tol = { atol: 2e-6 * Math.sqrt(terms), rtol: 1e-5 };
          assertClose(simd!, plus(before, g), tol, `${name}: SIMD vs prior + float64`);
          assertClose(twin, plus(before, g), tol, `${name}: scalar vs prior + float64`);
        }
        if (!withBias) assert.equal(bits(scalar.db), bits(prior.db), 'db pointer 0 leaves memory alone');
      });
    });
  }
}

test('linearBackward matches central finite differences of the float64 reference (L = <y, r>)', () => {
  tidy(() => {
    const [N, IN, OUT] = [3, 5, 4];
    const x = randomTensor([N, IN], 11), w = randomTensor([OUT, IN], 12), b = randomTensor([OUT], 13), r = randomTensor([N, OUT], 14);
    const [x64, w64, b64, r64] = [toF64(x), toF64(w), toF64(b), toF64(r)];
    const { dx, dw, db } = ops.linearBackward(r, x, w);
    const tol = { atol: 1e-5, rtol: 1e-5 };
    assertClose(dx, finiteDifference((v) => dot(linearRef(v, w64, b64, N, IN, OUT), r64), x64), tol, 'dx');
    assertClose(dw, finiteDifference((v) => dot(linearRef(x64, v, b64, N, IN, OUT), r64), w64), tol, 'dw');
    assertClose(db, finiteDifference((v) => dot(linearRef(x64, w64, v, N, IN, OUT), r64), b64), tol, 'db');
  });
});

test('linear: a row gets the same bits alone as inside any batch (row 3 of 7, and of 70 with IN = 300)', () => {
  tidy(() => {
    for (const [N, IN, OUT] of [[7, 13, 11], [70, 300, 37]]) {
      const x = randomTensor([N, IN], 21), w = randomTensor([OUT, IN], 22), b = randomTensor([OUT], 23);
      const full = ops.linear(x, w, b).toFloat32Array();
      const row = ops.linear(x.subview(3 * IN, [1, IN]), w, b).toFloat32Array();
      assert.equal(Array.from(row), Array.from(full.subarray(3 * OUT, 4 * OUT)));
      // dx is per row too.
      const dy = randomTensor([N, OUT], 24);
      const dxFull = ops.linearBackward(dy, x, w, { dw: null, db: null }).dx.toFloat32Array();
      const dxRow = ops.linearBackward(dy.subview(3 * OUT, [1, OUT]), x.subview(3 * IN, [1, IN]), w, { dw: null, db: null }).dx;
      assert.equal(Array.from(dxRow.toFloat32Array()), Array.from(dxFull.subarray(3 * IN, 4 * IN)));
    }
  });
});

test('linearBackward: db accumulated over consecutive chunks of the batch has the bits of one call', () => {
  tidy(() => {
    const [N, IN, OUT] = [9, 3, 6];
    const x = randomTensor([N, IN], 31), w = randomTensor([OUT, IN], 32), dy = randomTensor([N, OUT], 33);
    const whole = ops.linearBackward(dy, x, w, { dx: null, dw: null }).db;
    const chunked = Tensor.zeros([OUT]);
    for (const [start, rows] of [[0, 4], [4, 1], [5, 4]]) {
      ops.linearBackward(dy.subview(start * OUT, [rows, OUT]), x.subview(start * IN, [rows, IN]), w, { dx: null, dw: null, db: chunked });
    }
    assert.equal(bits(chunked), bits(whole));
  });
});

test('linear: x with extra leading dimensions folds them into rows; IN = 0 gives the bias', () => {
  tidy(() => {
    const x = randomTensor([2, 3, 5], 41), w = randomTensor([4, 5], 42), b = randomTensor([4], 43);
    const y = ops.linear(x, w, b);
    assert.equal(y.shape, [2, 3, 4]);
    assert.equal(Array.from(y.toFloat32Array()), Array.from(ops.linear(x.reshape([6, 5]), w, b).toFloat32Array()));
    const { dx } = ops.linearBackward(randomTensor([2, 3, 4], 44), x, w);
    assert.equal(dx.shape, [2, 3, 5]);
    const onlyBias = ops.linear(Tensor.zeros([2, 0]), Tensor.zeros([4, 0]), b).toFloat32Array();
    assert.equal(Array.from(onlyBias), [...b.toFloat32Array(), ...b.toFloat32Array()]);
  });
});

test('linear and linearBackward reject bad inputs before calling the kernel, naming the shapes', () => {
  tidy(() => {
    const x = Tensor.zeros([2, 3]), w = Tensor.zeros([4, 3]), b = Tensor.zeros([4]);
    assert.throws(() => ops.linear(x, Tensor.zeros([4, 5]), b), /linear: w has 5 input features, x has 3 \(x \[2, 3\], w \[4, 5\] is \[OUT, IN\]\)/);
    assert.throws(() => ops.linear(x, Tensor.zeros([4, 3, 1]), b), /linear: w must have rank 2 \[OUT, IN\], got shape \[4, 3, 1\]/);
    assert.throws(() => ops.linear(x, w, Tensor.zeros([5])), /linear: b must have 4 elements \(OUT of w \[4, 3\]\), got \[5\]/);
    assert.throws(() => ops.linear(x, w, Tensor.zeros([1, 4])), /linear: b must have rank 1 \[OUT\], got shape \[1, 4\]/);
    assert.throws(() => ops.linear(new Float32Array(6) as never, w, b), /linear: x must be a Tensor, got object/);
    assert.throws(() => ops.linear(Tensor.zeros([]), w, b), /linear: x must have at least one dimension \[\.\.\., IN\], got \[\]/);
    const gone = Tensor.zeros([2, 3]);
    gone.dispose();
    assert.throws(() => ops.linear(gone, w, b), /linear: x was disposed/);
    assert.throws(() => ops.linearBackward(Tensor.zeros([2, 5]), x, w), /linearBackward: dy must be \[2, 4\], the shape of y for x \[2, 3\] and w \[4, 3\], got \[2, 5\]/);
    assert.throws(() => ops.linearBackward(Tensor.zeros([2, 4]), x, w, { dw: Tensor.zeros([3, 4]) }),
      /linearBackward: into.dw must have shape \[4, 3\], got \[3, 4\]/);
    assert.throws(() => ops.linearBackward(Tensor.zeros([2, 4]), x, w, { db: Tensor.zeros([3]) }), /linearBackward: into.db must have shape \[4\], got \[3\]/);
    assert.throws(() => ops.linearBackward(Tensor.zeros([2, 4]), x, w, { dx: Tensor.zeros([3, 2]) }), /linearBackward: into.dx must have shape \[2, 3\], got \[3, 2\]/);
  });
});

test.run();
