import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { MatmulFlags } from '../../bindings/ops/matmul.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';
import { matmulRef } from '../ref/matmul.ts';

await init();

// Awkward shapes: 1s, primes, sizes just off the 4x8 tile and the 256/64/1024 blocks.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 1], [3, 5, 7], [4, 8, 8], [5, 9, 17], [13, 1, 11], [64, 64, 64],
  [65, 257, 33], [31, 300, 1030], [2, 513, 9],
];

for (const [M, K, N] of SHAPES) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    test(`matmul ${M}x${K}x${N}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}: SIMD = scalar twin ~ float64 reference`, () => {
      tidy(() => {
        const a = randomTensor(ta ? [K, M] : [M, K], M * 7 + K);
        const b = randomTensor(tb ? [N, K] : [K, N], N * 13 + K);
        const c = ops.matmul(a, b, { transposeA: ta, transposeB: tb });
        assert.equal(c.shape, [M, N]);
        const flags = (ta ? MatmulFlags.transposeA : 0) | (tb ? MatmulFlags.transposeB : 0);
        const scalar = new Tensor([M, N]);
        wasm().matmulScalar(a.ptr, b.ptr, scalar.ptr, M, K, N, flags);
        const ref = matmulRef(toF64(a), toF64(b), M, K, N, ta, tb);
        const tol = { atol: 1e-6 * Math.sqrt(K), rtol: 1e-5 };
        assertClose(c, ref, tol, 'SIMD vs float64');
        assertClose(scalar, ref, tol, 'scalar vs float64');
      });
    });
  }
}

test('matmul: every element depends only on its row, column and K (bit-identical across M and tiling)', () => {
  tidy(() => {
    const K = 300, N = 37;
    const a = randomTensor([70, K], 1);
    const b = randomTensor([K, N], 2);
    const full = ops.matmul(a, b).toFloat32Array();
    const rows = new Tensor([3, K]);
    rows.view().set(a.view().subarray(40 * K, 43 * K));
    const part = ops.matmul(rows, b).toFloat32Array();
    assert.equal(Array.from(part), Array.from(full.subarray(40 * N, 43 * N)));
  });
});

test('matmul accumulate flag adds into C', () => {
  tidy(() => {
    const a = randomTensor([9, 10], 3), b = randomTensor([10, 11], 4);
    const c = ops.matmul(a, b);
    const twice = c.reshape([9, 11]);
    wasm().matmul(a.ptr, b.ptr, twice.ptr, 9, 10, 11, MatmulFlags.accumulate);
    assertClose(twice, c.toFloat32Array().map((v) => 2 * v), { atol: 1e-6, rtol: 1e-6 }, 'accumulate');
  });
});

test('matmul with K = 0 gives zeros', () => {
  tidy(() => {
    const c = ops.matmul(Tensor.zeros([3, 0]), Tensor.zeros([0, 5]));
    assert.equal(Array.from(c.toFloat32Array()), new Array(15).fill(0));
  });
});

test('batchMatmul multiplies each batch item independently', () => {
  tidy(() => {
    const a = randomTensor([3, 5, 6], 5), b = randomTensor([3, 6, 7], 6);
    const c = ops.batchMatmul(a, b).toFloat32Array();
    for (let i = 0; i < 3; i++) {
      const ref = matmulRef(toF64(a).subarray(i * 30, i * 30 + 30), toF64(b).subarray(i * 42, i * 42 + 42), 5, 6, 7, false, false);
      assertClose(c.subarray(i * 35, i * 35 + 35), ref, { atol: 1e-6, rtol: 1e-5 }, `batch ${i}`);
    }
  });
});

test('matmulBackward matches the float64 gradients of <A·B, R>', () => {
  tidy(() => {
    const a = randomTensor([6, 5], 7), b = randomTensor([5, 4], 8), r = randomTensor([6, 4], 9);
    const { da, db } = ops.matmulBackward(r, a, b);
    assertClose(da, matmulRef(toF64(r), toF64(b), 6, 4, 5, false, true), { atol: 1e-6, rtol: 1e-5 }, 'dA = R·Bᵀ');
    assertClose(db, matmulRef(toF64(a), toF64(r), 5, 6, 4, true, false), { atol: 1e-6, rtol: 1e-5 }, 'dB = Aᵀ·R');
  });
});

test('matmul rejects mismatched shapes before calling the kernel, naming the shapes', () => {
  tidy(() => {
    assert.throws(() => ops.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), /matmul: inner dimensions differ: a \[2, 3\] has 3 columns, b \[4, 5\] has 4 rows/);
    assert.throws(() => ops.matmul(Tensor.zeros([2, 3, 1]), Tensor.zeros([3, 5])), /matmul: a must have rank 2/);
    assert.throws(() => ops.matmul(new Float32Array(4) as never, Tensor.zeros([3, 5])), /matmul: a must be a Tensor/);
    assert.throws(() => ops.batchMatmul(Tensor.zeros([2, 3, 4]), Tensor.zeros([3, 4, 5])), /same batch size/);
  });
});

test('tidy frees what it does not return; memory stays flat over repeated steps', () => {
  const a = randomTensor([64, 64], 1);
  const step = () => tidy(() => { ops.matmul(ops.matmul(a, a), a); });
  step();
  const before = memoryStats();
  for (let i = 0; i < 20; i++) step();
  const after = memoryStats();
  assert.is(after.liveBytes, before.liveBytes);
  assert.is(after.heapBytes, before.heapBytes);
  a.dispose();
});

test.run();
