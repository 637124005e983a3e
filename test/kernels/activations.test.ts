// The resnet activations of assembly/activations.ts (ReLU, exact GELU, Mish), forward and backward: the SIMD
// kernels against their scalar twins (ReLU bit for bit; GELU and Mish within a few float32 steps, since the SIMD
// kernels use simd-math.ts's exp and the twins Mathf.exp), against float64 references on random values and on
// a dense sweep (their accuracy, measured and bounded), each backward against central differences of the float64
// function, and the edges (overflowing exp, ±0, huge values). PyTorch's own values: diffusers-layers.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';
import { geluRef, geluSlopeRef, mishRef, mishSlopeRef, normalCdfRef, reluRef, reluSlopeRef } from '../ref/activations.ts';

await init();

const run = (name: string, ...args: number[]) => (wasm() as unknown as Record<string, (...a: number[]) => void>)[name](...args);
const bits = (t: Tensor): number[] => Array.from(new Uint32Array(t.toFloat32Array().buffer));
/** Distance in representable float32 steps (-0 and +0 are one value). */
const steps = (a: number, b: number): number => {
  const ord = (v: number) => { const i = new Int32Array(Float32Array.of(v).buffer)[0]; return i < 0 ? -(i & 0x7fffffff) : i; };
  return Math.abs(ord(a) - ord(b));
};
const ulpOf = (v: number): number => {
  const a = Math.abs(Math.fround(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
};

type Name = 'relu' | 'gelu' | 'mish';
const REFS = { relu: [reluRef, reluSlopeRef], gelu: [geluRef, geluSlopeRef], mish: [mishRef, mishSlopeRef] } as const;

/** Runs kernel and twin on fresh outputs (or copies of `prior`); returns both. */
function pair(name: string, n: number, args: (out: number) => number[], prior?: Tensor): [Float32Array, Float32Array] {
  const a = prior ? prior.clone() : Tensor.zeros([n]), b = prior ? prior.clone() : Tensor.zeros([n]);
  run(name, ...args(a.ptr));
  run(`${name}Scalar`, ...args(b.ptr));
  return [a.toFloat32Array(), b.toFloat32Array()];
}

for (const n of [0, 1, 3, 4, 5, 17, 1031]) {
  test(`relu, gelu, mish n=${n}: SIMD ~ scalar twin ~ float64, backward ~ float64 slope`, () => {
    tidy(() => {
      const x = randomTensor([n], n + 11, 6), dy = randomTensor([n], n + 12), prior = randomTensor([n], n + 13);
      const x64 = toF64(x), dy64 = toF64(dy), p64 = toF64(prior);
      for (const name of ['relu', 'gelu', 'mish'] as Name[]) {
        const [f, slope] = REFS[name];
        const [y, yTwin] = pair(`${name}Forward`, n, (out) => [out, x.ptr, n]);
        const [dx, dxTwin] = pair(`${name}Backward`, n, (out) => [out, dy.ptr, x.ptr, n], prior);
        for (let i = 0; i < n; i++) {
          const limit = name === 'relu' ? 0 : 4;
          assert.ok(steps(y[i], yTwin[i]) <= limit, `${name}(${x64[i]}): SIMD ${y[i]}, twin ${yTwin[i]}`);
          assert.ok(Math.abs(dx[i] - dxTwin[i]) <= limit * ulpOf(Math.abs(dy64[i]) * 1.2) + ulpOf(dx[i]), `${name}' at ${x64[i]}: SIMD ${dx[i]}, twin ${dxTwin[i]}`);
        }
        assertClose(y, f(x64), { atol: 1e-7, rtol: 2e-6 }, `${name} forward`);
        assertClose(dx, slope(x64).map((s, i) => p64[i] + dy64[i] * s), { atol: 1e-6, rtol: 4e-6 }, `${name} backward`);
        const h = 1e-5, numeric = x64.map((v, i) => p64[i] + dy64[i] * (f([v + h])[0] - f([v - h])[0]) / (2 * h));
        if (name !== 'relu') assertClose(dx, numeric, { atol: 1e-5, rtol: 1e-5 }, `${name} backward vs central differences`);
        // The ops run these kernels.
        assert.equal(bits(ops[name](x)), Array.from(new Uint32Array(y.buffer)), `ops.${name}`);
        assert.equal(bits(ops[`${name}Backward`](dy, x, { dx: prior.clone() })), Array.from(new Uint32Array(dx.buffer)), `ops.${name}Backward`);
      }
    });
  });
}

test('gelu and mish on a dense sweep of [-12, 12]: forward within a few ulp of float64, slopes likewise', () => {
  tidy(() => {
    const n = 240_001, xs = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const x = Tensor.from(xs, [n]), ones = ops.fill(Tensor.zeros([n]), 1);
    const worst: Record<string, number> = {};
    for (const name of ['gelu', 'mish'] as Name[]) {
      const [f, slope] = REFS[name];
      const y = ops[name](x).toFloat32Array(), s = ops[`${name}Backward`](ones, x).toFloat32Array();
      const exact = f(xs), exactSlope = slope(xs);
      let wy = 0, ws = 0;
      for (let i = 0; i < n; i++) {
        // The value against its own size, floored at 2^-20 · |x| (deep in the negative tail, where the outputs
        // are far below a layer's largest, relative error is not what matters); the slope against the size of
        // its two terms (Φ(x) and x φ(x); tanh(softplus(x)) and x σ(x) sech²(softplus(x))), which cancel where the
        // slope crosses zero.
        const v = xs[i], terms = name === 'gelu'
          ? normalCdfRef(v) + Math.abs(v) * Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI)
          : Math.tanh(Math.log1p(Math.exp(v))) + Math.abs(exactSlope[i] - Math.tanh(Math.log1p(Math.exp(v))));
        wy = Math.max(wy, Math.abs(y[i] - exact[i]) / ulpOf(Math.max(Math.abs(exact[i]), 2 ** -20 * Math.abs(v))));
        ws = Math.max(ws, Math.abs(s[i] - exactSlope[i]) / ulpOf(Math.max(terms, 2 ** -20)));
      }
      worst[name] = wy;
      worst[`${name}'`] = ws;
    }
    // Measured: gelu 6.0 ulp, gelu' 6.2, mish 4.0, mish' 5.2 (gelu at most 4.1e-7 relative anywhere on the sweep).
    assert.ok(worst.gelu <= 8 && worst["gelu'"] <= 8 && worst.mish <= 6 && worst["mish'"] <= 8, JSON.stringify(worst));
  });
});

test('edges: finite outputs and slopes at ±0, exp overflow and ±3e38; relu at 0 and its gradient 0 there', () => {
  tidy(() => {
    const xs = [0, -0, 1e-30, -1e-30, 20, 20.5, -20, 88.8, -88.8, 100, -100, 3e38, -3e38];
    const x = Tensor.from(xs, [xs.length]), ones = ops.fill(Tensor.zeros([xs.length]), 1);
    for (const name of ['relu', 'gelu', 'mish'] as Name[]) {
      const y = ops[name](x), s = ops[`${name}Backward`](ones, x);
      assert.is(ops.countNonFinite(y), 0, `${name} is finite`);
      assert.is(ops.countNonFinite(s), 0, `${name}' is finite`);
      const [f, slope] = REFS[name];
      assertClose(y, f(xs), { atol: 1e-30, rtol: 2e-6 }, `${name} at the edges`);
      assertClose(s, slope(xs).map((v) => (Number.isFinite(v) ? v : 0)), { atol: 1e-7, rtol: 2e-6 }, `${name}' at the edges`);
    }
    assert.equal(Array.from(ops.relu(Tensor.from([0, -0, -2, 3], [4])).toFloat32Array()), [0, 0, 0, 3]);
    assert.equal(Array.from(ops.reluBackward(Tensor.from([5, 5, 5], [3]), Tensor.from([0, -1, 1], [3])).toFloat32Array()), [0, 0, 5]);
    assert.is(ops.mish(Tensor.from([1e4], [1])).toFloat32Array()[0], 1e4);
  });
});

test('activation ops check their arguments', () => {
  tidy(() => {
    assert.throws(() => ops.gelu(null as never), /gelu: x must be a Tensor, got null/);
    assert.throws(() => ops.mishBackward(Tensor.zeros([3]), Tensor.zeros([4])), /mishBackward: dy must have the shape of x: x \[4\], dy \[3\]/);
    assert.throws(() => ops.reluBackward(Tensor.zeros([2]), Tensor.zeros([2]), { dx: Tensor.zeros([3]) }), /reluBackward: into.dx must have shape \[2\], got \[3\]/);
  });
});

test.run();
