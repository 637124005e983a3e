import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';
import { conv2dRef, outHeight, outWidth, type ConvDims } from '../ref/conv2d.ts';
import { upsampleRef } from '../ref/elementwise.ts';

await init();

// [N, C, H, W, K, R, S, stride, padding]: the paths of the kernel (K > 4: 8-channel strips and 4-pixel tiles that
// cross images, K = 5..7 with a padded strip; K <= 4: pixel vectors along rows, rows under 4 wide and strides
// > 1 by the scalar path), 1x1 without padding, 5x5, 1x3, strides 2 and 3, taps crossing the 256-tap blocks
// mid-channel (C = 64, 3x3: 576 taps), pixel groups over several images, and the U-Net's own shapes. Then K = 1
// with all its taps in one block, where two output rows share a tile (conv2d-packed-pairs.ts): odd output heights
// (the last row alone), rows of 4-28 pixels (tiles of 1-4 vectors, the last overlapping), R = 1 and 5, 3x2, no
// padding, batches 1 and 3; K = 1 past one block (270 taps: single rows) and K = 3 at odd heights beside them.
// Last, 3x3 stride 1 from 1-3 input channels to K > 4, where the plane tile streams each channel's rows
// (conv2d-packed-planes.ts): the digit conv_in, rows not a multiple of 4 wide (the overlapping last vector, also
// between input channels), a padded strip (K = 9), and 4 input channels beside them (narrow tiles again).
const SHAPES: number[][] = [
  [1, 3, 5, 7, 1, 3, 3, 1, 1],
  [2, 5, 9, 9, 7, 3, 3, 2, 1],
  [2, 3, 5, 7, 7, 3, 3, 1, 0],
  [1, 5, 9, 9, 6, 3, 3, 2, 2],
  [1, 3, 9, 9, 9, 1, 1, 1, 0],
  [2, 5, 7, 5, 13, 1, 1, 2, 0],
  [1, 3, 9, 9, 7, 5, 5, 1, 2],
  [2, 3, 5, 7, 7, 1, 3, 1, 1],
  [1, 5, 11, 10, 16, 3, 3, 3, 1],
  [3, 3, 2, 3, 7, 3, 3, 1, 1],
  [2, 40, 6, 6, 2, 3, 3, 1, 1],
  [2, 40, 6, 9, 3, 3, 3, 1, 1],
  [1, 6, 2, 2, 3, 3, 3, 1, 1],
  [2, 7, 13, 13, 4, 3, 3, 1, 1],
  [1, 4, 9, 9, 2, 3, 3, 2, 1],
  [1, 64, 20, 17, 9, 3, 3, 1, 1],
  [3, 64, 7, 7, 16, 3, 3, 1, 1],
  [2, 96, 14, 14, 32, 1, 1, 1, 0],
  [2, 16, 28, 28, 3, 3, 3, 1, 1],
  [5, 16, 28, 28, 1, 3, 3, 1, 1],
  [1, 16, 9, 28, 1, 3, 3, 1, 1],
  [3, 5, 7, 13, 1, 3, 3, 1, 1],
  [3, 4, 6, 6, 1, 5, 5, 1, 2],
  [1, 2, 9, 6, 1, 3, 3, 1, 0],
  [3, 3, 5, 9, 1, 1, 3, 1, 1],
  [1, 2, 8, 8, 1, 3, 2, 1, 1],
  [2, 30, 7, 9, 1, 3, 3, 1, 1],
  [1, 16, 9, 28, 3, 3, 3, 1, 1],
  [3, 16, 7, 28, 3, 3, 3, 1, 1],
  [2, 1, 28, 28, 16, 3, 3, 1, 1],
  [1, 2, 7, 10, 9, 3, 3, 1, 1],
  [3, 3, 6, 13, 16, 3, 3, 1, 1],
  [2, 3, 8, 6, 6, 3, 3, 1, 0],
  [1, 4, 7, 9, 16, 3, 3, 1, 1],
];

const dimsOf = ([N, C, H, W, K, R, S, stride, padding]: number[]): ConvDims => ({ N, C, H, W, K, R, S, stride, padding });
const label = (d: ConvDims) =>
  `x [${d.N}, ${d.C}, ${d.H}, ${d.W}], w [${d.K}, ${d.C}, ${d.R}, ${d.S}], stride ${d.stride}, padding ${d.padding}`;
const tolFor = (terms: number) => ({ atol: 1e-6 * Math.sqrt(terms), rtol: 1e-5 });
const bits = (t: Tensor) => new Uint32Array(t.toFloat32Array().buffer);

function assertSameBits(actual: Tensor, expected: Tensor, what: string): void {
  const a = bits(actual), e = bits(expected);
  assert.is(a.length, e.length, `${what}: length`);
  const first = a.findIndex((v, i) => v !== e[i]);
  assert.is(first, -1, `${what}: element ${first} differs (${actual.toFloat32Array()[first]} vs ${expected.toFloat32Array()[first]})`);
}

for (const shape of SHAPES) {
  const d = dimsOf(shape);
  const OH = outHeight(d), OW = outWidth(d);

  test(`conv2dPacked ${label(d)}: conv2d's bits (+ addChannelBias, + addInPlace), scalar twin's bits, float64`, () => {
    tidy(() => {
      const x = randomTensor([d.N, d.C, d.H, d.W], 3), w = randomTensor([d.K, d.C, d.R, d.S], 4, 0.3);
      const b = randomTensor([d.K], 5), cb = randomTensor([d.N, d.K], 6), res = randomTensor([d.N, d.K, OH, OW], 7);
      const packed = ops.packConv2dWeights(w);
      for (const bias of [b, null]) {
        const y = ops.conv2dPacked(x, packed, bias, { stride: d.stride, padding: d.padding });
        assert.equal(y.shape, [d.N, d.K, OH, OW]);
        assertSameBits(y, ops.conv2d(x, w, bias, { stride: d.stride, padding: d.padding }), `vs conv2d${bias ? '' : ' (no bias)'}`);
        assertClose(y, conv2dRef(toF64(x), toF64(w), bias && toF64(bias), d), tolFor(d.C * d.R * d.S), 'vs float64');
      }
      const fused = ops.conv2dPacked(x, packed, b, { stride: d.stride, padding: d.padding, channelBias: cb, residual: res });
      const unfused = ops.addInPlace(ops.addChannelBias(ops.conv2d(x, w, b, { stride: d.stride, padding: d.padding }), cb), res);
      assertSameBits(fused, unfused, 'with channel bias and residual vs conv2d, addChannelBias, addInPlace');
      // The scalar twin on the same padded input and packed weights.
      const HP = d.H + 2 * d.padding, WP = d.W + 2 * d.padding;
      const xp = new Tensor([d.N, d.C, HP, WP]);
      wasm().conv2dPadInputScalar(xp.ptr, x.ptr, d.N, d.C, d.H, d.W, d.padding, 0);
      const scalar = new Tensor(fused.shape);
      wasm().conv2dPackedForwardScalar(scalar.ptr, xp.ptr, packed.packed.ptr, b.ptr, cb.ptr, res.ptr, d.N, d.C, HP, WP, d.K, d.R, d.S, d.stride);
      assertSameBits(scalar, fused, 'scalar twin vs SIMD');
      // A padded input passed with padding 0 is the same convolution.
      assertSameBits(ops.conv2dPacked(xp, packed, b, { stride: d.stride }), ops.conv2dPacked(x, packed, b, { stride: d.stride, padding: d.padding }),
        'pre-padded input with padding 0');
      packed.dispose();
    });
  });
}

test('conv2dPadInput: SIMD and scalar twin agree; zeros around, the image (or its 2x upsampling) inside', () => {
  tidy(() => {
    for (const [N, C, H, W, P, up] of [[2, 3, 5, 7, 1, 0], [1, 2, 7, 7, 2, 1], [3, 1, 1, 9, 0, 1], [1, 4, 6, 5, 3, 0]]) {
      const x = randomTensor([N, C, H, W], 8), f = up ? 2 : 1, HP = f * H + 2 * P, WP = f * W + 2 * P;
      const simd = new Tensor([N, C, HP, WP]), scalar = new Tensor([N, C, HP, WP]);
      wasm().conv2dPadInput(simd.ptr, x.ptr, N, C, H, W, P, up);
      wasm().conv2dPadInputScalar(scalar.ptr, x.ptr, N, C, H, W, P, up);
      assertSameBits(simd, scalar, `[${N}, ${C}, ${H}, ${W}] padding ${P} upsample ${up}`);
      const inner = up ? upsampleRef(x.toFloat32Array(), N * C * H, W) : Float64Array.from(x.toFloat32Array());
      const v = simd.toFloat32Array();
      for (let plane = 0; plane < N * C; plane++) for (let i = 0; i < HP; i++) for (let j = 0; j < WP; j++) {
        const u = i - P, s = j - P, inside = u >= 0 && u < f * H && s >= 0 && s < f * W;
        const expected = inside ? inner[(plane * f * H + u) * f * W + s] : 0;
        if (v[(plane * HP + i) * WP + j] !== expected) assert.unreachable(`[${plane}, ${i}, ${j}]: ${v[(plane * HP + i) * WP + j]} vs ${expected}`);
      }
    }
  });
});

test('conv2dPacked with upsample: the bits of upsampleNearest2x then conv2d', () => {
  tidy(() => {
    for (const [N, C, H, W, K] of [[2, 6, 7, 7, 6], [1, 3, 5, 4, 2], [3, 9, 3, 3, 12]]) {
      const x = randomTensor([N, C, H, W], 9), w = randomTensor([K, C, 3, 3], 10, 0.3), b = randomTensor([K], 11);
      const packed = ops.packConv2dWeights(w);
      assertSameBits(ops.conv2dPacked(x, packed, b, { upsample: true, padding: 1 }),
        ops.conv2d(ops.upsampleNearest2x(x), w, b, { padding: 1 }), `[${N}, ${C}, ${H}, ${W}] -> ${K}`);
      packed.dispose();
    }
  });
});

test('conv2dPacked: bad arguments throw one-line errors naming the op and the argument, before any work', () => {
  tidy(() => {
    const x = randomTensor([2, 3, 5, 5], 1), w = randomTensor([4, 3, 3, 3], 2), packed = ops.packConv2dWeights(w);
    const cases: [() => unknown, RegExp][] = [
      [() => ops.conv2dPacked(randomTensor([2, 4, 5, 5], 3), packed, null), /conv2dPacked: weight has 3 input channels, x has 4/],
      [() => ops.conv2dPacked(x, w as never, null), /conv2dPacked: w must be PackedConv2dWeights/],
      [() => ops.conv2dPacked(x, packed, randomTensor([5], 4)), /conv2dPacked: bias must be \[4\]/],
      [() => ops.conv2dPacked(x, packed, null, { residual: randomTensor([2, 4, 5, 5], 5) }), /conv2dPacked: residual must be \[2, 4, 3, 3\]/],
      [() => ops.conv2dPacked(x, packed, null, { channelBias: randomTensor([4], 6) }), /conv2dPacked: channelBias must be \[2, 4\]/],
      [() => ops.conv2dPacked(x, packed, null, { stride: 0 }), /conv2dPacked: stride must be an integer >= 1, got 0/],
      [() => ops.conv2dPacked(x, packed, null, { padding: -1 }), /conv2dPacked: padding must be an integer >= 0, got -1/],
      [() => ops.conv2dPacked(randomTensor([1, 3, 2, 2], 7), packed, null), /conv2dPacked: the output would be empty/],
      [() => ops.conv2dPacked(x, packed, null, { upsample: 1 as never }), /conv2dPacked: upsample must be a boolean/],
      [() => ops.packConv2dWeights(randomTensor([4, 3, 3], 8)), /packConv2dWeights: weight must have rank 4/],
      [() => ops.packConv2dWeights(new Tensor([1, 1, 17, 17])), /packConv2dWeights: weight \[1, 1, 17, 17\] is too large for the kernel: at most 256 taps per channel \(R·S = 289\)/],
      [() => ops.packConv2dWeights(new Tensor([1, 8193, 3, 3])), /packConv2dWeights: .* and 65536 in all \(C·R·S = 73737\)/],
    ];
    for (const [fn, message] of cases) assert.throws(fn, message);
    packed.dispose();
    assert.throws(() => ops.conv2dPacked(x, packed, null), /conv2dPacked: w was disposed/);
  });
});

test.run();
