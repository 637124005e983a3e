import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, randomTensor, seededFloats, toF64 } from '../helpers.ts';
import { siluRef } from '../ref/elementwise.ts';
import { groupNormRef } from '../ref/groupnorm.ts';

await init();

// [N, C, H, W, G, padding, AdaGN, offset]: rows of 5, 6, 7 and 14 (computed as one run and placed row by row with
// a last vector overlapping its neighbour), rows of 1 to 3 (placed lane by lane), 1x1 planes, padding 0 to 3
// (padding 3: the zeroed border between rows is not whole vectors), padding 0 with planes of 35 and 6 floats (a
// partial last vector), planes larger than the kernel's 1024-float scratch (computed in chunks of rows) and rows
// wider than it (computed in place), a large mean (the two-pass statistics), the U-Net's shapes.
const CASES: [number, number, number, number, number, number, boolean, number][] = [
  [2, 16, 7, 7, 8, 1, true, 0],
  [1, 64, 7, 7, 8, 1, false, 0],
  [3, 12, 5, 3, 4, 2, true, 0],
  [2, 6, 1, 1, 3, 0, true, 0],
  [2, 6, 9, 9, 2, 0, false, 0],
  [2, 32, 14, 14, 8, 1, true, 30],
  [1, 8, 2, 3, 2, 1, true, 0],
  [2, 16, 28, 28, 8, 1, true, 0],
  [2, 8, 5, 5, 4, 1, true, 0],
  [2, 8, 6, 6, 4, 1, false, 0],
  [1, 4, 9, 6, 2, 3, true, 0],
  [2, 6, 5, 7, 3, 0, true, 0],
  [1, 4, 2, 3, 2, 0, false, 0],
  [2, 4, 6, 2, 2, 1, true, 0],
  [1, 4, 9, 1, 2, 2, false, 0],
  [1, 4, 40, 30, 2, 1, true, 5],
  [1, 2, 3, 1030, 1, 1, true, 0],
];

const bits = (t: Tensor) => new Uint32Array(t.toFloat32Array().buffer);

for (const [N, C, H, W, G, P, adagn, offset] of CASES) {
  test(`groupNormSilu [${N}, ${C}, ${H}, ${W}], ${G} groups, padding ${P}${adagn ? ', AdaGN' : ''}${offset ? `, mean ${offset}` : ''}: ` +
    'the bits of groupNorm, silu and padding; scalar twin and float64 agree', () => {
    tidy(() => {
      const x = Tensor.from(seededFloats(N * C * H * W, 21).map((u) => offset + u), [N, C, H, W]);
      const gamma = Tensor.from(seededFloats(C, 22).map((u) => 1 + 0.3 * u), [C]), beta = randomTensor([C], 23, 0.3);
      const modulation = adagn ? { scale: randomTensor([N, C], 24, 0.5), shift: randomTensor([N, C], 25, 0.5) } : {};
      const y = ops.groupNormSilu(x, G, gamma, beta, 1e-5, { ...modulation, padding: P });
      assert.equal(y.shape, [N, C, H + 2 * P, W + 2 * P]);
      const unfused = ops.silu(ops.groupNorm(x, G, gamma, beta, 1e-5, modulation));
      const padded = new Tensor(y.shape);
      wasm().conv2dPadInput(padded.ptr, unfused.ptr, N, C, H, W, P, 0);
      const a = bits(y), e = bits(padded), first = a.findIndex((v, i) => v !== e[i]);
      assert.is(first, -1, `element ${first} differs from groupNorm + silu + padding`);
      const scalar = new Tensor(y.shape);
      wasm().groupNormSiluForwardScalar(scalar.ptr, x.ptr, gamma.ptr, beta.ptr, modulation.scale?.ptr ?? 0,
        modulation.shift?.ptr ?? 0, N, C, H, W, G, 1e-5, P);
      const ref = siluRef(groupNormRef({ x: toF64(x), gamma: toF64(gamma), beta: toF64(beta), scale: modulation.scale && toF64(modulation.scale),
        shift: modulation.shift && toF64(modulation.shift), N, C, HW: H * W, G, eps: 1e-5 }).y);
      const refPadded = new Float64Array(y.size);
      for (let plane = 0; plane < N * C; plane++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
        refPadded[(plane * (H + 2 * P) + h + P) * (W + 2 * P) + w + P] = ref[(plane * H + h) * W + w];
      }
      const tol = { atol: 2e-6, rtol: 2e-5 };
      assertClose(y, refPadded, tol, 'SIMD vs float64');
      assertClose(scalar, refPadded, tol, 'scalar twin vs float64');
    });
  });
}

test('groupNormSilu: bad arguments throw one-line errors naming the op and the argument', () => {
  tidy(() => {
    const x = randomTensor([2, 4, 3, 3], 1), gamma = randomTensor([4], 2), beta = randomTensor([4], 3);
    const cases: [() => unknown, RegExp][] = [
      [() => ops.groupNormSilu(randomTensor([2, 4, 9], 4), 2, gamma, beta), /groupNormSilu: x must have rank 4 \[N, C, H, W\], got shape \[2, 4, 9\]/],
      [() => ops.groupNormSilu(x, 3, gamma, beta), /groupNormSilu: groups \(3\) must divide the channels \(4\)/],
      [() => ops.groupNormSilu(x, 2, randomTensor([3], 5), beta), /groupNormSilu: gamma/],
      [() => ops.groupNormSilu(x, 2, gamma, beta, 0), /groupNormSilu: eps must be a finite positive number, got 0/],
      [() => ops.groupNormSilu(x, 2, gamma, beta, 1e-5, { padding: -1 }), /groupNormSilu: padding must be an integer >= 0, got -1/],
      [() => ops.groupNormSilu(x, 2, gamma, beta, 1e-5, { scale: randomTensor([2, 4], 6) }), /groupNormSilu: .*scale.*shift/],
    ];
    for (const [fn, message] of cases) assert.throws(fn, message);
  });
});

test.run();
