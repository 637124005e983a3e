import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, toF64 } from '../helpers.ts';
import { attentionBackwardRef, attentionRef } from '../ref/attention.ts';

await init();

type Shape4 = [B: number, heads: number, T: number, D: number];

/** q, k, v and dO of `shape`, seeded from the shape; q and k scaled by `logitScale`. */
function inputs(shape: Shape4, logitScale = 1) {
  const seed = shape.reduce((s, d) => s * 31 + d, 7);
  return {
    q: randomTensor(shape, seed, logitScale), k: randomTensor(shape, seed + 1, logitScale),
    v: randomTensor(shape, seed + 2), dO: randomTensor(shape, seed + 3),
  };
}

/** The bit patterns of a tensor's or an array's floats, for exact comparisons. */
function bitsOf(t: Tensor | Float32Array): number[] {
  const a = t instanceof Tensor ? t.toFloat32Array() : t;
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

// Every combination of B = 1, 2; heads = 1, 3; T = 1, 5, 17; D = 1, 3, 8, 33; then T past gemm's 64-row block
// (70) and past its 256-deep reduction block (260, the K of P·v and of the backward products).
const SHAPES: Shape4[] = [];
for (const B of [1, 2]) for (const heads of [1, 3]) for (const T of [1, 5, 17]) for (const D of [1, 3, 8, 33]) SHAPES.push([B, heads, T, D]);
SHAPES.push([1, 1, 70, 5], [1, 2, 260, 3]);

// float32 errors grow with the reduction lengths (D for the logits, T for the products)
const FORWARD_TOL = { atol: 1e-7, rtol: 1e-6 };
const gradTol = (T: number, D: number) => ({ atol: 2e-8 * Math.sqrt(T * D), rtol: 2e-6 });

for (const shape of SHAPES) {
  const [B, heads, T, D] = shape;
  const BH = B * heads;
  test(`attention ${shape.join('x')}: SIMD, scalar twin and float64 reference agree, forward and backward`, () => {
    tidy(() => {
      const { q, k, v, dO } = inputs(shape);
      const ref = attentionRef(toF64(q), toF64(k), toF64(v), BH, T, D);
      const { o, probs } = ops.attentionForward(q, k, v);
      assert.equal(o.shape, shape);
      assert.equal(probs.shape, [B, heads, T, T]);
      const oScalar = new Tensor(shape), probsScalar = new Tensor([B, heads, T, T]);
      wasm().attentionForwardScalar(oScalar.ptr, probsScalar.ptr, q.ptr, k.ptr, v.ptr, BH, T, D);
      assertClose(probs, ref.probs, FORWARD_TOL, 'probs SIMD vs float64');
      assertClose(probsScalar, ref.probs, FORWARD_TOL, 'probs scalar vs float64');
      assertClose(o, ref.o, FORWARD_TOL, 'o SIMD vs float64');
      assertClose(oScalar, ref.o, FORWARD_TOL, 'o scalar vs float64');

      const refGrads = attentionBackwardRef(toF64(dO), toF64(q), toF64(k), toF64(v), BH, T, D);
      const grads = ops.attentionBackwardWithProbs(dO, q, k, v, probs);
      const scalar = { dq: Tensor.zeros(shape), dk: Tensor.zeros(shape), dv: Tensor.zeros(shape) };
      const work = new Tensor([T, T]);
      wasm().attentionBackwardScalar(scalar.dq.ptr, scalar.dk.ptr, scalar.dv.ptr, dO.ptr, q.ptr, k.ptr, v.ptr,
        probsScalar.ptr, work.ptr, BH, T, D);
      for (const name of ['dq', 'dk', 'dv'] as const) {
        assertClose(grads[name], refGrads[name], gradTol(T, D), `${name} SIMD vs float64`);
        assertClose(scalar[name], refGrads[name], gradTol(T, D), `${name} scalar vs float64`);
      }
    });
  });
}

test('attention and attentionBackward (recomputing the probabilities) give the bits of the saved-probs path', () => {
  tidy(() => {
    const shape: Shape4 = [2, 3, 17, 8];
    const { q, k, v, dO } = inputs(shape);
    const { o, probs } = ops.attentionForward(q, k, v);
    assert.equal(bitsOf(ops.attention(q, k, v)), bitsOf(o));
    const saved = ops.attentionBackwardWithProbs(dO, q, k, v, probs);
    const recomputed = ops.attentionBackward(dO, q, k, v);
    for (const name of ['dq', 'dk', 'dv'] as const) assert.equal(bitsOf(recomputed[name]), bitsOf(saved[name]), name);
  });
});

for (const shape of [[1, 2, 5, 3], [2, 1, 4, 8], [1, 1, 1, 3], [1, 1, 6, 1]] as Shape4[]) {
  test(`attentionBackward ${shape.join('x')}: dq, dk, dv match central differences of the float64 forward`, () => {
    tidy(() => {
      const [B, heads, T, D] = shape;
      const { q, k, v } = inputs(shape, 1.5);
      const r = randomTensor(shape, 99);
      const grads = ops.attentionBackward(r, q, k, v);
      const [q64, k64, v64, r64] = [toF64(q), toF64(k), toF64(v), toF64(r)];
      const loss = { dq: (x: Float64Array) => attentionRef(x, k64, v64, B * heads, T, D).o,
        dk: (x: Float64Array) => attentionRef(q64, x, v64, B * heads, T, D).o,
        dv: (x: Float64Array) => attentionRef(q64, k64, x, B * heads, T, D).o };
      const at = { dq: q64, dk: k64, dv: v64 };
      for (const name of ['dq', 'dk', 'dv'] as const) {
        const numeric = finiteDifference((x) => dot(loss[name](x), r64), at[name].slice());
        assertClose(grads[name], numeric, { atol: 3e-7, rtol: 1e-6 }, `${name} vs finite differences`);
      }
    });
  });
}

test('large logits (q and k scaled by 30): probabilities stay finite, rows sum to 1, results match float64', () => {
  tidy(() => {
    const shape: Shape4 = [1, 2, 17, 8];
    const [, , T, D] = shape;
    const { q, k, v, dO } = inputs(shape, 30);
    const { o, probs } = ops.attentionForward(q, k, v);
    const p = probs.toFloat32Array();
    assert.ok(p.every(Number.isFinite) && o.toFloat32Array().every(Number.isFinite), 'no NaN or inf');
    for (let row = 0; row < 2 * T; row++) {
      const sum = p.subarray(row * T, (row + 1) * T).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6, `row ${row} sums to ${sum}`);
    }
    // Logits of several hundred carry float32 rounding of ~1e-5 (absolute), which limits agreement with float64.
    const ref = attentionRef(toF64(q), toF64(k), toF64(v), 2, T, D);
    const oScalar = new Tensor(shape), probsScalar = new Tensor([1, 2, T, T]);
    wasm().attentionForwardScalar(oScalar.ptr, probsScalar.ptr, q.ptr, k.ptr, v.ptr, 2, T, D);
    for (const [label, got, want] of [['probs', probs, ref.probs], ['o', o, ref.o], ['scalar probs', probsScalar, ref.probs],
      ['scalar o', oScalar, ref.o]] as const) {
      assertClose(got, want, { atol: 5e-5, rtol: 0 }, `${label} vs float64`);
    }
    const grads = ops.attentionBackward(dO, q, k, v);
    const refGrads = attentionBackwardRef(toF64(dO), toF64(q), toF64(k), toF64(v), 2, T, D);
    for (const name of ['dq', 'dk', 'dv'] as const) {
      assert.ok(grads[name].toFloat32Array().every(Number.isFinite), `${name} finite`);
      assertClose(grads[name], refGrads[name], { atol: 5e-5, rtol: 0 }, `${name} vs float64`);
    }
  });
});

test('a NaN key makes every output row of its head NaN (the flush of tiny terms does not hide it)', () => {
  tidy(() => {
    const shape: Shape4 = [1, 2, 6, 5];
    const { q, k, v } = inputs(shape);
    k.view()[2 * 5 + 1] = NaN; // head 0, token 2
    const oScalar = new Tensor(shape), probs = new Tensor([1, 2, 6, 6]);
    wasm().attentionForwardScalar(oScalar.ptr, probs.ptr, q.ptr, k.ptr, v.ptr, 2, 6, 5);
    for (const [label, o] of [['SIMD', ops.attention(q, k, v)], ['scalar', oScalar]] as const) {
      const out = o.toFloat32Array();
      assert.ok(out.subarray(0, 30).every(Number.isNaN), `${label}: head 0 is all NaN`);
      assert.ok(out.subarray(30).every(Number.isFinite), `${label}: head 1 is untouched`);
    }
  });
});

test('attentionBackward adds into `into` tensors and skips null ones', () => {
  tidy(() => {
    const shape: Shape4 = [2, 2, 9, 5];
    const { q, k, v, dO } = inputs(shape);
    const fresh = ops.attentionBackward(dO, q, k, v);
    const start = { dq: randomTensor(shape, 1), dk: randomTensor(shape, 2), dv: randomTensor(shape, 3) };
    const before = { dq: start.dq.toFloat32Array(), dk: start.dk.toFloat32Array(), dv: start.dv.toFloat32Array() };
    const { probs } = ops.attentionForward(q, k, v);
    for (const backward of [
      (into: typeof start) => ops.attentionBackward(dO, q, k, v, into),
      (into: typeof start) => ops.attentionBackwardWithProbs(dO, q, k, v, probs, into),
    ]) {
      for (const name of ['dq', 'dk', 'dv'] as const) start[name].view().set(before[name]);
      const out = backward(start);
      for (const name of ['dq', 'dk', 'dv'] as const) {
        assert.is(out[name], start[name], `${name} is the tensor passed in`);
        // The kernel adds its sum to what is there, so the result is exactly fl(before + fresh).
        const expected = before[name].map((x, i) => x + fresh[name].toFloat32Array()[i]);
        assert.equal(bitsOf(out[name]), bitsOf(expected), `${name} accumulated`);
      }
    }
    const onlyDk = ops.attentionBackward(dO, q, k, v, { dq: null, dv: null });
    assert.is(onlyDk.dq, null);
    assert.is(onlyDk.dv, null);
    assert.equal(bitsOf(onlyDk.dk), bitsOf(fresh.dk));
    const onlyDv = ops.attentionBackwardWithProbs(dO, q, k, v, probs, { dq: null, dk: null });
    assert.equal(bitsOf(onlyDv.dv), bitsOf(fresh.dv));
    const none = ops.attentionBackward(dO, q, k, v, { dq: null, dk: null, dv: null });
    assert.equal(none, { dq: null, dk: null, dv: null });
  });
});

test('each batch item gets the same bits alone as in a batch (item 2 of 3)', () => {
  tidy(() => {
    const shape: Shape4 = [3, 2, 11, 6];
    const item = 2 * 11 * 6;
    const { q, k, v, dO } = inputs(shape);
    const alone = (t: Tensor) => Tensor.from(t.toFloat32Array().subarray(item, 2 * item), [1, 2, 11, 6]);
    const whole = ops.attentionForward(q, k, v);
    const single = ops.attentionForward(alone(q), alone(k), alone(v));
    assert.equal(bitsOf(single.o), bitsOf(whole.o.toFloat32Array().subarray(item, 2 * item)));
    const wholeGrads = ops.attentionBackward(dO, q, k, v);
    const singleGrads = ops.attentionBackward(alone(dO), alone(q), alone(k), alone(v));
    for (const name of ['dq', 'dk', 'dv'] as const) {
      assert.equal(bitsOf(singleGrads[name]), bitsOf(wholeGrads[name].toFloat32Array().subarray(item, 2 * item)), name);
    }
  });
});

test('attention ops reject bad inputs before any allocation or wasm call, naming the shapes', () => {
  tidy(() => {
    const q = Tensor.zeros([1, 2, 3, 4]), dq = Tensor.zeros([1, 2, 3, 4]), gone = Tensor.zeros([1, 2, 3, 4]);
    gone.dispose();
    const rank3 = Tensor.zeros([2, 3, 4]), wide = Tensor.zeros([1, 2, 3, 5]), long = Tensor.zeros([1, 2, 4, 4]);
    const noTokens = Tensor.zeros([1, 2, 0, 4]), noWidth = Tensor.zeros([1, 2, 3, 0]);
    const transposed = Tensor.zeros([1, 2, 4, 3]), probs = Tensor.zeros([1, 2, 3, 3]), probs3 = Tensor.zeros([2, 3, 3]);
    const b = 'attentionBackward', w = 'attentionBackwardWithProbs';
    const cases: [() => unknown, string][] = [
      [() => ops.attention(rank3, q, q), 'attention: q must have rank 4 [B, heads, T, D], got shape [2, 3, 4]'],
      [() => ops.attention(q, wide, q), 'attention: k must have the shape of q: q [1, 2, 3, 4], k [1, 2, 3, 5]'],
      [() => ops.attention(q, q, long), 'attention: v must have the shape of q: q [1, 2, 3, 4], v [1, 2, 4, 4]'],
      [() => ops.attention(q, q, new Float32Array(24) as never), 'attention: v must be a Tensor, got object'],
      [() => ops.attention(q, gone, q), 'attention: k was disposed'],
      [() => ops.attentionForward(noTokens, noTokens, noTokens),
        'attentionForward: q must have T >= 1 tokens and head size D >= 1 [B, heads, T, D], got [1, 2, 0, 4]'],
      [() => ops.attention(noWidth, noWidth, noWidth),
        'attention: q must have T >= 1 tokens and head size D >= 1 [B, heads, T, D], got [1, 2, 3, 0]'],
      [() => ops.attentionBackward(wide, q, q, q), `${b}: dO must have the shape of q: q [1, 2, 3, 4], dO [1, 2, 3, 5]`],
      [() => ops.attentionBackward(rank3, q, q, q), `${b}: dO must have rank 4 [B, heads, T, D], got shape [2, 3, 4]`],
      [() => ops.attentionBackward(q, q, q, q, 5 as never), `${b}: into must be an object { dq?, dk?, dv? } of gradient targets, got number`],
      [() => ops.attentionBackward(q, q, q, q, { dk: transposed }),
        `${b}: into.dk must have shape [1, 2, 3, 4], got [1, 2, 4, 3]`],
      [() => ops.attentionBackward(q, q, q, q, { dv: 'x' as never }), `${b}: into.dv must be a Tensor, got 'x'`],
      [() => ops.attentionBackward(dq, q, q, q, { dq }),
        `${b}: into.dq shares storage with an input; gradients must go to a separate tensor`],
      [() => ops.attentionBackwardWithProbs(q, q, q, q, dq), `${w}: probs must be [1, 2, 3, 3] for q [1, 2, 3, 4], got [1, 2, 3, 4]`],
      [() => ops.attentionBackwardWithProbs(q, q, q, q, probs3), `${w}: probs must have rank 4 [B, heads, T, T], got shape [2, 3, 3]`],
      [() => ops.attentionBackwardWithProbs(q, q, wide, q, probs), `${w}: k must have the shape of q: q [1, 2, 3, 4], k [1, 2, 3, 5]`],
      [() => ops.attentionBackwardWithProbs(q, q, q, q, probs, { dv: probs }),
        `${w}: into.dv must have shape [1, 2, 3, 4], got [1, 2, 3, 3]`],
    ];
    const live = memoryStats().liveBytes;
    for (const [call, message] of cases) {
      let thrown = '(nothing thrown)';
      try { call(); } catch (e) { thrown = (e as Error).message; }
      assert.is(thrown, message);
      assert.is(memoryStats().liveBytes, live, `nothing allocated before: ${message}`);
    }
  });
});

test('repeated forward + backward steps keep memory flat (scratch buffers are freed)', () => {
  const { q, k, v, dO } = inputs([2, 2, 9, 5]);
  const step = () => tidy(() => { ops.attention(q, k, v); ops.attentionBackward(dO, q, k, v); });
  step();
  const before = memoryStats().liveBytes;
  for (let i = 0; i < 5; i++) step();
  assert.is(memoryStats().liveBytes, before);
  for (const t of [q, k, v, dO]) t.dispose();
});

test.run();
