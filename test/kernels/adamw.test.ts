import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, randomTensor, seededFloats, toF64 } from '../helpers.ts';
import { adamwRef, emaRef, type AdamWRefOptions } from '../ref/adamw.ts';

await init();

const bits = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer));

const SIZES = [1, 3, 4, 5, 1001];
const SETTINGS: (AdamWRefOptions & { name: string })[] = [
  { name: 'PyTorch defaults (lr 1e-3, wd 0.01)', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
  { name: 'lr 0.1, betas (0.8, 0.95), eps 1e-6, wd 0.1', lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 },
  { name: 'betas 0, no weight decay', lr: 2e-4, beta1: 0, beta2: 0, eps: 1e-8, weightDecay: 0 },
];
const STEPS = 6;

for (const n of SIZES) {
  for (const o of SETTINGS) {
    test(`adamwStep n ${n}, ${o.name}, ${STEPS} steps: SIMD = scalar twin (bits) ~ float64 AdamW`, () => {
      const { name: _, ...hyper } = o;
      tidy(() => {
        const p = randomTensor([n], n + 1), m = Tensor.zeros([n]), v = Tensor.zeros([n]);
        const ps = p.reshape([n]), ms = Tensor.zeros([n]), vs = Tensor.zeros([n]);
        const pRef = toF64(p), mRef = new Float64Array(n), vRef = new Float64Array(n);
        for (let step = 1; step <= STEPS; step++) {
          // Gradients of varied scale, some exactly zero, so v spans many magnitudes.
          const g = randomTensor([n], 100 * n + step, step % 3 === 0 ? 1e-4 : 1);
          if (n > 2) g.view()[2] = 0;
          ops.adamwStep(p, g, m, v, { ...hyper, step });
          wasm().adamwStepScalar(ps.ptr, g.ptr, ms.ptr, vs.ptr, n, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, step);
          adamwRef(pRef, g.toFloat32Array(), mRef, vRef, o, step);
        }
        assert.equal(bits(p), bits(ps), 'param: SIMD vs scalar');
        assert.equal(bits(m), bits(ms), 'm: SIMD vs scalar');
        assert.equal(bits(v), bits(vs), 'v: SIMD vs scalar');
        assertClose(p, pRef, { atol: 1e-6, rtol: 1e-6 }, 'param vs float64');
        assertClose(m, mRef, { atol: 5e-8, rtol: 1e-5 }, 'm vs float64'); // m cancels: atol in units of |g| ~ 1
        assertClose(v, vRef, { atol: 1e-12, rtol: 1e-5 }, 'v vs float64');
      });
    });
  }
}

test('adamwStep tracks torch.optim.AdamW (PyTorch 1.13, float32, test/fixtures/adamw.json) to the last bits', () => {
  // PyTorch fuses m's multiply-add (an FMA in its AVX2 kernels) and we never do, so the two can differ in the
  // last bit of m and from there in v and p: the tolerance is a few float32 ulps, of the values or (where m
  // cancels to near 0) of the gradient terms.
  const cases = JSON.parse(readFileSync(new URL('../fixtures/adamw.json', import.meta.url), 'utf8'));
  tidy(() => {
    for (const c of cases) {
      const n = c.inputs.param.length;
      const { steps, ...o } = c.options;
      const p = Tensor.from(c.inputs.param, [n]), m = Tensor.zeros([n]), v = Tensor.zeros([n]);
      const gScale = Math.max(...[1, 2, 3].flatMap((k) => c.inputs[`grad${k}`].map(Math.abs)));
      for (let step = 1; step <= steps; step++) {
        ops.adamwStep(p, Tensor.from(c.inputs[`grad${step}`], [n]), m, v, { ...o, step });
        const label = `${c.name}, step ${step}`;
        assertClose(p, c.outputs[`param${step}`], { atol: 1e-7, rtol: 3e-7 }, `${label}: param`);
        assertClose(m, c.outputs[`m${step}`], { atol: 1e-7 * gScale, rtol: 3e-7 }, `${label}: m`);
        assertClose(v, c.outputs[`v${step}`], { atol: 1e-7 * gScale ** 2, rtol: 5e-7 }, `${label}: v`);
      }
    }
  });
});

test('adamwStep: the first step moves each weight by about lr against the gradient sign (plus the decay)', () => {
  tidy(() => {
    const p = Tensor.from([1, -2, 0.5, 3, 0], [5]), g = Tensor.from([0.3, -5, 1e-3, 0, 2], [5]);
    const m = Tensor.zeros([5]), v = Tensor.zeros([5]);
    ops.adamwStep(p, g, m, v, { lr: 0.1, weightDecay: 0.5, step: 1 });
    // m/(1-β1) = g and sqrt(v/(1-β2)) = |g|, so the update is lr·g/(|g| + eps); a zero gradient only decays.
    const decay = 1 - 0.1 * 0.5;
    const expected = [1 * decay - 0.1, -2 * decay + 0.1, 0.5 * decay - 0.1 * 1e-3 / (1e-3 + 1e-8), 3 * decay, 0 - 0.1];
    assertClose(p, expected, { atol: 1e-6, rtol: 1e-6 }, 'param');
    assertClose(m, [0.03, -0.5, 1e-4, 0, 0.2], { atol: 1e-9, rtol: 1e-6 }, 'm');
  });
});

test('adamwStep defaults are beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 0.01', () => {
  tidy(() => {
    const run = (options: ops.AdamWOptions) => {
      const p = randomTensor([9], 1), m = randomTensor([9], 2, 0.1), v = randomTensor([9], 3, 0.1);
      v.view().set(v.view().map(Math.abs));
      ops.adamwStep(p, randomTensor([9], 4), m, v, options);
      return [...bits(p), ...bits(m), ...bits(v)];
    };
    assert.equal(run({ lr: 0.01, step: 3 }), run({ lr: 0.01, step: 3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }));
  });
});

test('adamwStep works on views into one flat buffer (a whole model in one call, or one parameter)', () => {
  tidy(() => {
    const flat = randomTensor([30], 5), grads = randomTensor([30], 6), m = Tensor.zeros([30]), v = Tensor.zeros([30]);
    const whole = flat.reshape([30]);
    ops.adamwStep(whole, grads, Tensor.zeros([30]), Tensor.zeros([30]), { lr: 0.01, step: 1 });
    ops.adamwStep(flat.subview(7, [3, 4]), grads.subview(7, [3, 4]), m.subview(7, [3, 4]), v.subview(7, [3, 4]), { lr: 0.01, step: 1 });
    const a = flat.toFloat32Array(), b = whole.toFloat32Array(), before = randomTensor([30], 5).toFloat32Array();
    assert.equal(Array.from(a.subarray(7, 19)), Array.from(b.subarray(7, 19)), 'the view is updated like the whole');
    assert.equal([...a.subarray(0, 7), ...a.subarray(19)], [...before.subarray(0, 7), ...before.subarray(19)], 'the rest is untouched');
  });
});

for (const n of SIZES) {
  test(`emaUpdate n ${n}: SIMD = scalar twin (bits) ~ float64, over several updates`, () => {
    tidy(() => {
      const ema = randomTensor([n], 7), emaScalar = ema.reshape([n]), ref = toF64(ema);
      for (const [k, decay] of [0.999, 0.9, 0.5, 0.9999].entries()) {
        const param = randomTensor([n], 50 + k);
        ops.emaUpdate(ema, param, decay);
        wasm().emaUpdateScalar(emaScalar.ptr, param.ptr, n, decay);
        emaRef(ref, param.toFloat32Array(), decay);
      }
      assert.equal(bits(ema), bits(emaScalar));
      assertClose(ema, ref, { atol: 1e-7, rtol: 1e-6 }, 'ema vs float64');
    });
  });
}

test('emaUpdate: decay 1 keeps the average, decay 0 copies the weights', () => {
  tidy(() => {
    const ema = randomTensor([7], 1), param = randomTensor([7], 2), before = ema.toFloat32Array();
    ops.emaUpdate(ema, param, 1);
    assert.equal(Array.from(ema.toFloat32Array()), Array.from(before));
    ops.emaUpdate(ema, param, 0);
    assert.equal(Array.from(ema.toFloat32Array()), Array.from(param.toFloat32Array()));
  });
});

test('bad arguments throw messages that name the op, the argument and the shapes', () => {
  tidy(() => {
    const t = (n = 4) => Tensor.from(seededFloats(n, n), [n]);
    const [p, g, m, v] = [t(), t(), t(), t()];
    const ok = { lr: 1e-3, step: 1 };
    const cases: [() => unknown, RegExp][] = [
      [() => ops.adamwStep(p, t(5), m, v, ok), /adamwStep: grad must have the shape of param: param \[4\], grad \[5\]/],
      [() => ops.adamwStep(p, g, Tensor.zeros([2, 2]), v, ok), /adamwStep: m must have the shape of param: param \[4\], m \[2, 2\]/],
      [() => ops.adamwStep(p, g, m, t(3), ok), /adamwStep: v must have the shape of param: param \[4\], v \[3\]/],
      [() => ops.adamwStep(p, new Float32Array(4) as never, m, v, ok), /adamwStep: grad must be a Tensor/],
      [() => ops.adamwStep(p, g, m, m, ok), /adamwStep: m \[4\] and v \[4\] share memory: they must be distinct buffers/],
      [() => ops.adamwStep(p, g, p.subview(0, [4]), v, ok), /adamwStep: param \[4\] and m \[4\] share memory/],
      [() => ops.adamwStep(p, g, m, v, { lr: 1e-3, step: 0 }), /adamwStep: options\.step must be an integer >= 1, got 0/],
      [() => ops.adamwStep(p, g, m, v, { lr: 1e-3, step: 1.5 }), /adamwStep: options\.step must be an integer >= 1, got 1\.5/],
      [() => ops.adamwStep(p, g, m, v, { lr: 1e-3 } as never), /adamwStep: options\.step must be an integer >= 1, got undefined/],
      [() => ops.adamwStep(p, g, m, v, { lr: 1e-3, step: 2 ** 31 }), /adamwStep: options\.step must be at most 2\^31 - 1, got 2147483648/],
      [() => ops.adamwStep(p, g, m, v, { lr: -1e-3, step: 1 }), /adamwStep: options\.lr must be >= 0, got -0\.001/],
      [() => ops.adamwStep(p, g, m, v, { step: 1 } as never), /adamwStep: options\.lr must be a finite number, got undefined/],
      [() => ops.adamwStep(p, g, m, v, { lr: Infinity, step: 1 }), /adamwStep: options\.lr must be a finite number, got Infinity/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, beta1: 1 }), /adamwStep: options\.beta1 must be in \[0, 1\), got 1/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, beta1: -0.1 }), /adamwStep: options\.beta1 must be in \[0, 1\), got -0\.1/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, beta2: 1.5 }), /adamwStep: options\.beta2 must be in \[0, 1\), got 1\.5/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, eps: -1 }), /adamwStep: options\.eps must be >= 0, got -1/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, weightDecay: NaN }), /adamwStep: options\.weightDecay must be a finite number, got NaN/],
      [() => ops.adamwStep(p, g, m, v, { ...ok, learningRate: 1 } as never), /adamwStep: unknown option 'learningRate' \(allowed: lr, beta1, beta2, eps, weightDecay, step\)/],
      [() => ops.adamwStep(p, g, m, v, undefined as never), /adamwStep: options must be an object/],
      [() => ops.emaUpdate(m, t(5), 0.9), /emaUpdate: ema must have the shape of param: param \[5\], ema \[4\]/],
      [() => ops.emaUpdate(m, m, 0.9), /emaUpdate: ema \[4\] and param \[4\] share memory/],
      [() => ops.emaUpdate(m, p, 1.01), /emaUpdate: decay must be in \[0, 1\], got 1\.01/],
      [() => ops.emaUpdate(m, p, NaN), /emaUpdate: decay must be a finite number, got NaN/],
      [() => ops.emaUpdate(m, 3 as never, 0.9), /emaUpdate: param must be a Tensor, got 3/],
    ];
    const before = [p, g, m, v].map(bits);
    for (const [run, message] of cases) assert.throws(run, message);
    assert.equal([p, g, m, v].map(bits), before, 'nothing was written before validation failed');
  });
});

test.run();
