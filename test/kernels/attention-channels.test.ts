import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';
import { attentionRef } from '../ref/attention.ts';

await init();

// [N, heads, D, T]: the U-Net's 7x7 with 4 heads of 16, one head, T under and over a vector's multiple, D = 1,
// and sums longer than gemm's 256-long blocks (T = 300 positions, D = 260).
const CASES = [[2, 4, 16, 49], [1, 1, 8, 5], [3, 2, 3, 17], [2, 3, 1, 4], [1, 2, 32, 64], [1, 1, 6, 300], [1, 1, 260, 5]];
const bits = (t: Tensor) => new Uint32Array(t.toFloat32Array().buffer);

for (const [N, heads, D, T] of CASES) {
  test(`attentionChannels N ${N}, ${heads} heads of ${D}, T ${T}: attentionForward's bits on the transposed tensors; scalar twin and float64 agree`, () => {
    tidy(() => {
      const C = heads * D;
      const qkv = randomTensor([N, 3 * C, T], 30 + T, 1.5);
      const o = ops.attentionChannels(qkv, heads);
      assert.equal(o.shape, [N, C, T]);
      // The training path's layout: each of q, k, v as [N, T, C] tokens, then heads [N, heads, T, D].
      const part = (i: number) => {
        const channels = new Tensor([N, C, T]), all = qkv.toFloat32Array();
        const view = channels.view();
        for (let n = 0; n < N; n++) view.set(all.subarray((3 * n + i) * C * T, (3 * n + i + 1) * C * T), n * C * T);
        return ops.transpose12(ops.transpose12(channels).reshape([N, T, heads, D]));
      };
      const [q, k, v] = [part(0), part(1), part(2)];
      const expected = ops.transpose12(ops.transpose12(ops.attentionForward(q, k, v).o).reshape([N, T, C]));
      const a = bits(o), e = bits(expected), first = a.findIndex((x, i) => x !== e[i]);
      assert.is(first, -1, `element ${first} differs from attentionForward`);
      const scalar = new Tensor([N, C, T]), probs = new Tensor([wasm().attentionChannelsWorkspaceSize(T)]);
      wasm().attentionChannelsForwardScalar(scalar.ptr, qkv.ptr, probs.ptr, N, heads, T, D);
      // The float64 reference [N, heads, T, D], laid out as [N, C, T] with channel h·D + d.
      const heads64 = attentionRef(toF64(q), toF64(k), toF64(v), N * heads, T, D).o, ref = new Float64Array(N * C * T);
      for (let n = 0; n < N; n++) for (let h = 0; h < heads; h++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
        ref[(n * C + h * D + d) * T + t] = heads64[((n * heads + h) * T + t) * D + d];
      }
      assertClose(o, ref, { atol: 2e-6, rtol: 2e-5 }, 'SIMD vs float64');
      assertClose(scalar, ref, { atol: 2e-6, rtol: 2e-5 }, 'scalar twin vs float64');
    });
  });
}

test('attentionChannels: bad arguments throw one-line errors naming the op and the argument', () => {
  tidy(() => {
    assert.throws(() => ops.attentionChannels(randomTensor([2, 12], 1), 2), /attentionChannels: qkv must be \[N, 3C, \.\.\.spatial\] \(rank >= 3\), got \[2, 12\]/);
    assert.throws(() => ops.attentionChannels(randomTensor([2, 12, 5], 1), 0), /attentionChannels: heads must be an integer >= 1, got 0/);
    assert.throws(() => ops.attentionChannels(randomTensor([2, 12, 5], 1), 3), /attentionChannels: qkv's channels \(12\) must be 3 · heads \(3\) · D/);
    assert.throws(() => ops.attentionChannels(randomTensor([2, 12, 0], 1), 2), /attentionChannels: qkv \[2, 12, 0\] has no positions/);
  });
});

test.run();
