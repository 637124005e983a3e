// Per-item reductions (assembly/per-item.ts): the SIMD kernel, its scalar twin and a float64 reference on awkward
// sizes, and the op's checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { allocator } from '../../bindings/core/allocator.ts';
import { assertClose, seededFloats } from '../helpers.ts';

await init();

test('sumOfSquaresPerItem: SIMD = scalar twin = float64 reference, item by item, on awkward sizes', () => {
  for (const [N, M] of [[1, 1], [3, 5], [2, 8], [4, 17], [2, 1031]]) {
    const data = seededFloats(N * M, N + M).map((v) => v * 3);
    const x = Tensor.from(data, [N, M]);
    const kernel = (name: 'sumOfSquaresPerItem' | 'sumOfSquaresPerItemScalar') => {
      const ptr = allocator.alloc(8 * N);
      wasm()[name](ptr, x.ptr, N, M);
      const out = new Float64Array(wasm().memory.buffer, ptr, N).slice();
      allocator.release(ptr);
      return out;
    };
    const reference = Float64Array.from({ length: N }, (_, n) => data.subarray(n * M, (n + 1) * M).reduce((s, v) => s + v * v, 0));
    assertClose(kernel('sumOfSquaresPerItem'), reference, { atol: 0, rtol: 1e-14 }, `[${N}, ${M}] SIMD`);
    assertClose(kernel('sumOfSquaresPerItemScalar'), reference, { atol: 0, rtol: 1e-14 }, `[${N}, ${M}] scalar`);
    // Each item's sum is that of the item alone (the order depends on M only).
    const first = Tensor.from(data.subarray(0, M), [1, M]);
    assert.is(ops.sumOfSquaresPerItem(first)[0], ops.sumOfSquaresPerItem(x.reshape([N, 1, M]))[0]);
    first.dispose();
    x.dispose();
  }
  assert.throws(() => ops.sumOfSquaresPerItem(Tensor.from([1], [])), /sumOfSquaresPerItem: x must have a batch dimension \[N, \.\.\.\], got \[\]/);
});

test.run();
