/**
 * Op options are checked before they are used: an unknown key is an error naming it (and the nearest known
 * one), since `conv2d(..., { dilation: 2 })` used to run undilated; flags must be booleans, since
 * `transposeA: 'yes'` used to count as true. Nothing is allocated by a refused call.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, memoryStats, ops, Tensor } from '../../bindings/index.ts';

await init();

test('unknown option keys and non-boolean flags are refused, naming the op, the key and the nearest known one', () => {
  const x = Tensor.zeros([1, 2, 5, 5]), w = Tensor.zeros([3, 2, 3, 3]), a = Tensor.zeros([2, 3]), b = Tensor.zeros([3, 2]);
  const g = Tensor.zeros([2]), bias = Tensor.zeros([2]), dy = Tensor.zeros([1, 3, 3, 3]);
  const a3 = Tensor.zeros([1, 2, 3]), b3 = Tensor.zeros([1, 3, 2]);
  const before = memoryStats().liveBytes;
  const cases: [() => unknown, RegExp][] = [
    [() => ops.conv2d(x, w, null, { dilation: 2 } as never), /conv2d: unknown option 'dilation'; options are stride, padding/],
    [() => ops.conv2d(x, w, null, { strides: 2 } as never), /conv2d: unknown option 'strides' \(did you mean 'stride'\?\)/],
    [() => ops.conv2dBackward(dy, x, w, { pad: 1 } as never), /conv2dBackward: unknown option 'pad'/],
    [() => ops.conv2d(x, w, null, 'same' as never), /conv2d: options must be an object \{ stride, padding \}, got string/],
    [() => ops.matmul(a, b, { transposeA: 'yes' } as never), /matmul: transposeA must be true or false, got 'yes'/],
    [() => ops.matmul(a, b, { transposeB: 1 } as never), /matmul: transposeB must be true or false, got 1/],
    [() => ops.batchMatmul(a3, b3, { transpose: true } as never), /batchMatmul: unknown option 'transpose' \(did you mean 'transposeA'\?\)/],
    [() => ops.groupNorm(x, 1, g, bias, 1e-5, { scale: undefined, shfit: undefined } as never), /groupNorm: unknown option 'shfit' \(did you mean 'shift'\?\)/],
    [() => ops.timestepEmbedding(Float32Array.of(1), 4, { flipSinToCOS: false } as never), /timestepEmbedding: unknown option 'flipSinToCOS' \(did you mean 'flipSinToCos'\?\)/],
    [() => ops.dropout(x, { p: 0.1, seed: 0, offset: 0, stream: 0, rate: 2 } as never), /dropout: unknown option 'rate'/],
  ];
  for (const [call, pattern] of cases) assert.throws(call, pattern);
  assert.is(memoryStats().liveBytes, before, 'refused calls allocate nothing');
  // The valid forms still work.
  assert.equal(ops.matmul(a, b, { transposeA: false }).shape, [2, 2]);
  assert.equal(ops.conv2d(x, w, null, { stride: 2, padding: 1 }).shape, [1, 3, 3, 3]);
});

test.run();
