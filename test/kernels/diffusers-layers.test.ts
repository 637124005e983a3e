// Our ops against diffusers v0.27.2's own layers (test/fixtures/diffusers-layers.safetensors, written by
// scripts/fixtures/layers.py with Debian's PyTorch): the activations act_fn names (ReLU, exact GELU, Mish) and
// their gradients, Downsample2D without a convolution (2x2 average pooling), FirDownsample2D / FirUpsample2D
// (upfirdn2d with (1, 3, 3, 1)), Downsample2D(padding=0)'s zero padding, and GaussianFourierProjection. These pin
// that we compute diffusers' functions (tap alignment, gain, border zeros, [sin, cos] order); the kernel tests
// pin accuracy against float64. Both sides round in float32, in different orders: the tolerances are a few ulp of
// each output's size (the activations, the embedding) or of the largest input (the 16-tap filters).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors } from '../../bindings/io/safetensors.ts';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { assertClose } from '../helpers.ts';
import { geluRef, geluSlopeRef, mishRef, mishSlopeRef, normalCdfRef } from '../ref/activations.ts';

await init();

const { tensors } = decodeSafetensors(readFileSync(new URL('../fixtures/diffusers-layers.safetensors', import.meta.url)), 'diffusers-layers');
const get = (name: string) => {
  const t = tensors.get(name);
  if (!t) throw new Error(`the fixture has no '${name}'`);
  return t;
};
const tensor = (name: string) => Tensor.from(get(name).data, get(name).shape);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const U = 2 ** -24;

test('the fixture holds the cases this file checks', () => {
  const cases = new Set([...tensors.keys()].map((k) => k.split('.')[0]));
  assert.equal([...cases].sort(), ['act-gelu', 'act-mish', 'act-relu', 'avg-pool', 'fir-down', 'fir-down-wide', 'fir-up', 'fir-up-wide', 'fourier', 'pad-right-bottom']);
});

for (const act of ['relu', 'gelu', 'mish'] as const) {
  test(`get_activation('${act}'): values and gradients (random x * 3 and special values up to ±90)`, () => {
    tidy(() => {
      const x = tensor(`act-${act}.x`), r = tensor(`act-${act}.r`);
      const xs = x.toFloat32Array(), rs = r.toFloat32Array();
      if (act === 'relu') {
        assertClose(ops.relu(x), get('act-relu.y').data, { atol: 0, rtol: 0 }, 'relu forward');
        assertClose(ops.reluBackward(r, x), get('act-relu.dx').data, { atol: 0, rtol: 0 }, 'relu backward');
        return;
      }
      // PyTorch's vectorised float32 GELU and Mish gradient are themselves off the exact functions by up to ~1e-5
      // relative (measured: gelu(-2.6767) = -0.0099520888 where the exact value is -0.0099519821). So each
      // output may differ from PyTorch's by PyTorch's own distance to the float64 function, plus 8 ulp of ours.
      // The slope is measured against the size of its two terms, which cancel where it crosses zero.
      const [f, slope] = act === 'gelu' ? [geluRef, geluSlopeRef] : [mishRef, mishSlopeRef];
      const exact = f(xs), slopes = slope(xs), exactGrad = slopes.map((g, i) => g * rs[i]);
      const first = (v: number) => (act === 'gelu' ? normalCdfRef(v) : Math.tanh(Math.log1p(Math.exp(Math.min(v, 40)))));
      const terms = Array.from(xs, (v, i) => Math.abs(rs[i]) * (Math.abs(first(v)) + Math.abs(slopes[i] - first(v))));
      const within = (fixture: Float32Array, reference: Float64Array, size: ArrayLike<number>) => ({
        atol: Array.from(fixture, (v, i) => Math.abs(v - reference[i]) + 8 * U * size[i]), rtol: 0,
      });
      const y = get(`act-${act}.y`).data, dx = get(`act-${act}.dx`).data;
      assertCloseEach(ops[act](x), y, within(y, exact, exact.map(Math.abs)), `${act} forward`);
      assertCloseEach(ops[`${act}Backward`](r, x), dx, within(dx, exactGrad, terms), `${act} backward`);
    });
  });
}

/** |actual - expected| <= atol[i] element-wise, naming the worst element. */
function assertCloseEach(actual: Tensor, expected: Float32Array, tol: { atol: number[]; rtol: number }, label: string): void {
  const a = actual.toFloat32Array();
  assert.is(a.length, expected.length, label);
  let worst = -1, excess = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - expected[i]) - tol.atol[i];
    if (!(e <= excess)) { excess = e; worst = i; }
  }
  assert.ok(worst < 0, `${label}: [${worst}] ${a[worst]} vs ${expected[worst]} (allowed ${tol.atol[worst]})`);
}

for (const [name, forward, backward] of [
  ['avg-pool', ops.avgPool2x2, ops.avgPool2x2Backward],
  ['fir-down', ops.firDownsample2x, ops.firDownsample2xBackward],
  ['fir-down-wide', ops.firDownsample2x, ops.firDownsample2xBackward],
  ['fir-up', ops.firUpsample2x, ops.firUpsample2xBackward],
  ['fir-up-wide', ops.firUpsample2x, ops.firUpsample2xBackward],
] as const) {
  test(`${name}: diffusers' values and gradients`, () => {
    tidy(() => {
      const x = tensor(`${name}.x`), r = tensor(`${name}.r`);
      const y = forward(x);
      assert.equal(y.shape, get(`${name}.y`).shape);
      assertClose(y, get(`${name}.y`).data, { atol: 16 * U * maxAbs(x.toFloat32Array()), rtol: 0 }, `${name} forward`);
      assertClose(backward(r), get(`${name}.dx`).data, { atol: 16 * U * maxAbs(r.toFloat32Array()), rtol: 0 }, `${name} backward`);
    });
  });
}

test("Downsample2D(padding=0)'s zero padding: F.pad(x, (0, 1, 0, 1)) and its gradient, exactly", () => {
  tidy(() => {
    const x = tensor('pad-right-bottom.x'), r = tensor('pad-right-bottom.r'), pads = { top: 0, bottom: 1, left: 0, right: 1 };
    assertClose(ops.pad2d(x, pads), get('pad-right-bottom.y').data, { atol: 0, rtol: 0 }, 'pad');
    assertClose(ops.pad2dBackward(r, pads), get('pad-right-bottom.dx').data, { atol: 0, rtol: 0 }, 'pad backward');
  });
});

test('GaussianFourierProjection(scale=16): [sin, cos] of log(t) w 2π, t from 1e-3 to 999', () => {
  tidy(() => {
    const out = ops.fourierEmbedding(get('fourier.t').data, tensor('fourier.w'));
    // The phases agree bit for bit (the same float32 steps, log correctly rounded on both sides); sin and cos of
    // them may differ by an ulp.
    assertClose(out, get('fourier.y').data, { atol: 2 * U, rtol: 0 }, 'fourier features');
  });
});

test.run();
