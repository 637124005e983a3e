import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { randomTensor, toF64 } from '../helpers.ts';
import { conv2dRef, type ConvDims } from '../ref/conv2d.ts';
import { winogradErrorScale } from '../ref/winograd.ts';

await init();

// [N, C, K, H, W]: every C and K of {1, 3, 16, 32, 64, 128}, even and odd sides (odd: the edge tiles, whose SIMD
// loads run one column or row past the image), batches 1 and 3 (tiles crossing images and blocks of tiles),
// C = 1 and 3 (blocks of 256 tiles), K = 1, 3 (a strip mostly padding), and the U-Net's own shapes.
const SHAPES: number[][] = [
  [1, 1, 16, 28, 28], [3, 3, 1, 9, 9], [1, 16, 16, 28, 28], [3, 16, 3, 5, 5], [1, 32, 32, 14, 14],
  [3, 32, 16, 7, 7], [1, 64, 64, 7, 7], [3, 64, 128, 5, 5], [1, 128, 64, 7, 7], [3, 128, 32, 9, 9],
  [3, 1, 3, 14, 14], [1, 3, 64, 9, 9], [3, 48, 16, 14, 14], [1, 96, 32, 14, 14], [3, 16, 1, 28, 28],
  [1, 5, 9, 5, 9], [2, 7, 11, 8, 3], [1, 2, 2, 1, 1],
];

const U32 = 2 ** -24;
const bits = (t: Tensor) => new Uint32Array(t.toFloat32Array().buffer);

function assertSameBits(actual: Tensor, expected: Tensor, what: string): void {
  const a = bits(actual), e = bits(expected);
  assert.is(a.length, e.length, `${what}: length`);
  const first = a.findIndex((v, i) => v !== e[i]);
  assert.is(first, -1, `${what}: element ${first} differs (${actual.toFloat32Array()[first]} vs ${expected.toFloat32Array()[first]})`);
}

/** |y - ref| <= bound per element (see test/ref/winograd.ts); returns the largest error over max |ref|. */
function assertWithin(y: Tensor, ref: Float64Array, bound: (i: number) => number, what: string): number {
  const v = y.toFloat32Array();
  assert.is(v.length, ref.length, `${what}: length`);
  let worst = 0, scale = 0;
  for (let i = 0; i < v.length; i++) {
    const err = Math.abs(v[i] - ref[i]);
    if (!(err <= bound(i))) assert.unreachable(`${what}: element ${i} is ${v[i]}, float64 ${ref[i]}, error ${err} > bound ${bound(i)}`);
    worst = Math.max(worst, err);
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return worst / scale;
}

for (const [N, C, K, H, W] of SHAPES) {
  const d: ConvDims = { N, C, H, W, K, R: 3, S: 3, stride: 1, padding: 1 };
  test(`conv2dWinograd x [${N}, ${C}, ${H}, ${W}], w [${K}, ${C}, 3, 3]: scalar twin's bits, float64 within the transform's error bound, near conv2d`, () => {
    tidy(() => {
      const x = randomTensor([N, C, H, W], 3), w = randomTensor([K, C, 3, 3], 4, 0.3);
      const b = randomTensor([K], 5), cb = randomTensor([N, K], 6), res = randomTensor([N, K, H, W], 7);
      const packed = ops.packConv2dWinogradWeights(w);
      const y = ops.conv2dWinograd(x, packed, b, { padding: 1 });
      assert.equal(y.shape, [N, K, H, W]);
      // Bound: (C + 8)·u·e from the error scale, and u·|y| for adding the bias.
      const ref = conv2dRef(toF64(x), toF64(w), toF64(b), d), e = winogradErrorScale(toF64(x), toF64(w), d);
      const bound = (i: number) => (C + 8) * U32 * e[i] + U32 * Math.abs(ref[i]);
      assertWithin(y, ref, bound, 'vs float64');
      // The direct kernel is within its own bound (γ_9C Σ|w||x|, below e); the two differ by at most both bounds.
      const direct = ops.conv2d(x, w, b, { padding: 1 }).toFloat32Array();
      assertWithin(y, Float64Array.from(direct), (i) => 2 * bound(i) + 9 * C * U32 * e[i], 'vs conv2d');
      // The epilogue: channel bias then residual, the bits of addChannelBias then addInPlace.
      const fused = ops.conv2dWinograd(x, packed, b, { padding: 1, channelBias: cb, residual: res });
      // (addChannelBias and addInPlace work in place: on a second output, y stays for the checks below.)
      const unfused = ops.addInPlace(ops.addChannelBias(ops.conv2dWinograd(x, packed, b, { padding: 1 }), cb), res);
      assertSameBits(fused, unfused, 'with channel bias and residual vs addChannelBias, addInPlace');
      // The scalar twin on the same padded input and transformed weights, with and without the epilogue.
      const xp = new Tensor([N, C, H + 2, W + 2]);
      wasm().conv2dPadInputScalar(xp.ptr, x.ptr, N, C, H, W, 1, 0);
      const work = new Tensor([wasm().conv2dWinogradWorkspaceSize(C, K)]);
      for (const [full, simd] of [[true, fused], [false, null]] as const) {
        const scalar = new Tensor([N, K, H, W]);
        wasm().conv2dWinogradForwardScalar(scalar.ptr, xp.ptr, packed.packed.ptr, full ? b.ptr : 0, full ? cb.ptr : 0,
          full ? res.ptr : 0, work.ptr, N, C, H + 2, W + 2, K);
        assertSameBits(scalar, simd ?? ops.conv2dWinograd(xp, packed, null), `scalar twin vs SIMD${full ? '' : ' (no bias)'}`);
      }
      // A padded input passed with padding 0 is the same convolution.
      assertSameBits(ops.conv2dWinograd(xp, packed, b), y, 'pre-padded input with padding 0');
      packed.dispose();
    });
  });
}

// G of F(2x2, 3x3); U = G g Gᵀ as conv2dWinogradPackWeights documents it: per entry Σ_r Σ_s (G[i][r]·G[j][s])·g[r][s]
// in float64, in that order, rounded once (JavaScript numbers are float64, so this is that arithmetic exactly).
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
function packRef(w: Float32Array, K: number, C: number): Float32Array {
  const KP = Math.ceil(K / 8) * 8, out = new Float32Array(16 * C * KP);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    let v = 0;
    for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G[i][r] * G[j][s] * w[(k * C + c) * 9 + r * 3 + s];
    out[(((i * 4 + j) * (KP / 8) + Math.floor(k / 8)) * C + c) * 8 + (k % 8)] = v;
  }
  return out;
}

test('packConv2dWinogradWeights: the SIMD pass, its scalar twin and the documented float64 sums give the same bits', () => {
  tidy(() => {
    // Magnitudes from 2^-30 to 2^10 side by side (float64 sums that are not exact), zeros, subnormals, huge values.
    const special = [0, -0, 1e-38, -1e-45, 3e38, -3e38, 1e-7, 65504];
    for (const [K, C] of [[16, 16], [13, 7], [64, 48], [3, 1], [9, 33]]) {
      const data = randomTensor([K, C, 3, 3], 21).toFloat32Array().map((v, i) => (i % 13 === 0 ? special[i % 8] : v * 2 ** ((i * 7) % 41 - 30)));
      const w = Tensor.from(data, [K, C, 3, 3]);
      const packed = ops.packConv2dWinogradWeights(w);
      const scalar = new Tensor(packed.packed.shape);
      wasm().conv2dWinogradPackWeightsScalar(scalar.ptr, w.ptr, K, C);
      assertSameBits(packed.packed, scalar, `[${K}, ${C}] scalar twin`);
      const expected = packRef(data, K, C), actual = packed.packed.toFloat32Array();
      const first = new Uint32Array(actual.buffer).findIndex((v, i) => v !== new Uint32Array(expected.buffer)[i]);
      assert.is(first, -1, `[${K}, ${C}]: element ${first} is ${actual[first]}, the float64 sums give ${expected[first]}`);
      packed.dispose();
    }
  });
});

test('conv2dWinograd with upsample: the convolution of the nearest-neighbour 2x upsampled input (the upsampler)', () => {
  tidy(() => {
    for (const [N, C, K, H, W] of [[2, 16, 16, 7, 7], [1, 5, 3, 4, 3]]) {
      const x = randomTensor([N, C, H, W], 11), packed = ops.packConv2dWinogradWeights(randomTensor([K, C, 3, 3], 12, 0.3));
      const b = randomTensor([K], 13), res = randomTensor([N, K, 2 * H, 2 * W], 14);
      const up = ops.conv2dWinograd(x, packed, b, { padding: 1, upsample: true, residual: res });
      assert.equal(up.shape, [N, K, 2 * H, 2 * W]);
      assertSameBits(up, ops.conv2dWinograd(ops.upsampleNearest2x(x), packed, b, { padding: 1, residual: res }), `[${N}, ${C}, ${H}, ${W}] -> ${K}`);
      packed.dispose();
    }
  });
});

test('conv2dWinograd: bad arguments throw one-line errors naming the op and the argument, before any work', () => {
  tidy(() => {
    const x = randomTensor([2, 3, 5, 5], 1), w = randomTensor([4, 3, 3, 3], 2), packed = ops.packConv2dWinogradWeights(w);
    const cases: [() => unknown, RegExp][] = [
      [() => ops.conv2dWinograd(randomTensor([2, 4, 5, 5], 3), packed, null), /conv2dWinograd: weight has 3 input channels, x has 4/],
      [() => ops.conv2dWinograd(x, w as never, null), /conv2dWinograd: w must be WinogradConv2dWeights/],
      [() => ops.conv2dWinograd(x, packed, randomTensor([5], 4)), /conv2dWinograd: bias must be \[4\]/],
      [() => ops.conv2dWinograd(x, packed, null, { residual: randomTensor([2, 4, 5, 5], 5) }), /conv2dWinograd: residual must be \[2, 4, 3, 3\]/],
      [() => ops.conv2dWinograd(x, packed, null, { channelBias: randomTensor([4], 6) }), /conv2dWinograd: channelBias must be \[2, 4\]/],
      [() => ops.conv2dWinograd(x, packed, null, { padding: -1 }), /conv2dWinograd: padding must be an integer >= 0, got -1/],
      [() => ops.conv2dWinograd(x, packed, null, { upsample: 1 as never }), /^conv2dWinograd: upsample must be a boolean, got 1$/],
      [() => ops.conv2dWinograd(randomTensor([1, 3, 2, 2], 7), packed, null), /conv2dWinograd: the output would be empty/],
      [() => ops.packConv2dWinogradWeights(randomTensor([4, 3, 3], 8)), /packConv2dWinogradWeights: weight must have rank 4/],
      [() => ops.packConv2dWinogradWeights(randomTensor([4, 3, 5, 5], 8)), /packConv2dWinogradWeights: weight must be \[K, C, 3, 3\] .* got \[4, 3, 5, 5\]/],
    ];
    for (const [fn, message] of cases) assert.throws(fn, message);
    packed.dispose();
    assert.throws(() => ops.conv2dWinograd(x, packed, null), /conv2dWinograd: w was disposed/);
  });
});

test.run();
