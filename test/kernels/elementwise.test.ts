import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy, memoryStats } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose, dot, finiteDifference, randomTensor, seededFloats, toF64 } from '../helpers.ts';
import {
  addChannelBiasRef, concatRef, globalAvgPoolRef, mseRef, siluRef, softmaxCrossEntropyRef, sumRef, timestepEmbeddingRef,
  upsampleRef,
} from '../ref/elementwise.ts';

await init();

const k = () => wasm();
const bits = (t: Tensor | Float32Array): number[] =>
  Array.from(new Uint32Array((t instanceof Tensor ? t.toFloat32Array() : t.slice()).buffer));
const TIGHT = { atol: 1e-6, rtol: 1e-6 };
const FD = { atol: 1e-5, rtol: 1e-4 };
const SIZES = [0, 1, 3, 4, 5, 17, 1031];

/** Runs a kernel (out first) and its scalar twin on fresh outputs holding `prior`; asserts identical bits. */
function twins(name: string, shape: number[], call: (kernel: string, out: number) => void, prior?: Tensor): Tensor {
  const simd = prior ? prior.reshape(shape) : Tensor.zeros(shape), scalar = prior ? prior.reshape(shape) : Tensor.zeros(shape);
  call(name, simd.ptr);
  call(`${name}Scalar`, scalar.ptr);
  assert.equal(bits(simd), bits(scalar), `${name}: SIMD and scalar twin differ`);
  return simd;
}
const run = (name: string, ...args: number[]) => (k() as unknown as Record<string, (...a: number[]) => number>)[name](...args);

/** Distance in representable float32 steps (bit patterns ordered as integers; -0 and +0 are one value). */
const steps = (a: number, b: number): number => {
  const ord = (v: number) => { const i = new Int32Array(Float32Array.of(v).buffer)[0]; return i < 0 ? -(i & 0x7fffffff) : i; };
  return Math.abs(ord(a) - ord(b));
};
/** The ulp of the float32 binade holding |v|. */
const ulpOf = (v: number): number => {
  v = Math.abs(v);
  if (v < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  if (2 ** (e + 1) <= v) e++;
  return 2 ** (e - 23);
};
const sigmoid64 = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * SiLU's SIMD kernels use simd-math.ts's expf32x4 and their scalar twins Mathf.exp, so the two agree to a few
 * float32 steps rather than bit for bit. Forward: within 6 steps (measured at most 4 on 20M random x in
 * [-90, 90]). Backward (dx = prior + dy * s * (1 + x * (1 - s))): within 32 ulp of the size of the terms,
 * |dy| * s * (1 + |x * (1 - s)|), plus one ulp of dx for the final add; 1 - s cancels as s -> 1, so one step of
 * s becomes about |x| / 2 ulp there (measured at most 11).
 */
function siluTwins(name: 'siluForward' | 'siluBackward', call: (kernel: string, out: number) => void, x: Tensor, dy?: Tensor, prior?: Tensor): Tensor {
  const shape = x.shape, simd = prior ? prior.reshape(shape) : Tensor.zeros(shape), scalar = prior ? prior.reshape(shape) : Tensor.zeros(shape);
  call(name, simd.ptr);
  call(`${name}Scalar`, scalar.ptr);
  const [a, b, xs] = [simd.toFloat32Array(), scalar.toFloat32Array(), x.toFloat32Array()];
  const g = dy?.toFloat32Array();
  for (let i = 0; i < a.length; i++) {
    if (name === 'siluForward') {
      assert.ok(steps(a[i], b[i]) <= 6, `siluForward(${xs[i]}): SIMD ${a[i]}, scalar twin ${b[i]}`);
    } else {
      const v = xs[i], s = sigmoid64(v), size = Math.abs(g![i]) * s * (1 + Math.abs(v * (1 - s)));
      assert.ok(Math.abs(a[i] - b[i]) <= 32 * ulpOf(size) + ulpOf(b[i]), `siluBackward at x = ${v}: SIMD ${a[i]}, scalar twin ${b[i]}`);
    }
  }
  return simd;
}

// ---------------------------------------------------------------- element-wise maps

for (const n of SIZES) {
  test(`element-wise n=${n}: SIMD = scalar twin (bits) ~ float64`, () => {
    tidy(() => {
      const a = randomTensor([n], n + 1, 6), b = randomTensor([n], n + 2, 3), prior = randomTensor([n], n + 3);
      const [a64, b64, p64] = [toF64(a), toF64(b), toF64(prior)];
      assertClose(siluTwins('siluForward', (f, y) => run(f, y, a.ptr, n), a), siluRef(a64), TIGHT, 'silu');
      assertClose(twins('add', [n], (f, o) => run(f, o, a.ptr, b.ptr, n)), a64.map((v, i) => v + b64[i]), TIGHT, 'add');
      assertClose(twins('sub', [n], (f, o) => run(f, o, a.ptr, b.ptr, n)), a64.map((v, i) => v - b64[i]), TIGHT, 'sub');
      assertClose(twins('mul', [n], (f, o) => run(f, o, a.ptr, b.ptr, n)), a64.map((v, i) => v * b64[i]), TIGHT, 'mul');
      assertClose(twins('scale', [n], (f, o) => run(f, o, a.ptr, -0.75, n)), a64.map((v) => -0.75 * v), TIGHT, 'scale');
      assertClose(twins('axpy', [n], (f, y) => run(f, y, a.ptr, 0.5, n), prior), p64.map((v, i) => v + 0.5 * a64[i]), TIGHT, 'axpy');
      assertClose(twins('fill', [n], (f, o) => run(f, o, 2.5, n)), new Array(n).fill(2.5), { atol: 0, rtol: 0 }, 'fill');
      const h = 1e-6, dsilu = a64.map((v) => (siluRef([v + h])[0] - siluRef([v - h])[0]) / (2 * h));
      const dxSilu = siluTwins('siluBackward', (f, dx) => run(f, dx, b.ptr, a.ptr, n), a, b, prior);
      assertClose(dxSilu, p64.map((v, i) => v + b64[i] * dsilu[i]), FD, 'silu backward');
      // The ops on top of the kernels.
      assert.equal(bits(ops.add(a, b)), bits(twins('add', [n], (f, o) => run(f, o, a.ptr, b.ptr, n))));
      assert.equal(bits(ops.addInPlace(prior.reshape([n]), a, 0.5)), bits(twins('axpy', [n], (f, y) => run(f, y, a.ptr, 0.5, n), prior)));
    });
  });
}

test('silu: finite at ±100, ±88.7 (exp overflow) and ±3e38, backward too', () => {
  tidy(() => {
    const xs = [100, -100, 88.7, -88.7, 89, -89, 3e38, -3e38, 0, -0, 1e-30, -20, 20];
    const x = Tensor.from(xs, [xs.length]), r = randomTensor([xs.length], 5);
    const y = ops.silu(x), dx = ops.siluBackward(r, x);
    assert.is(ops.countNonFinite(y), 0);
    assert.is(ops.countNonFinite(dx), 0);
    assert.is(y.toFloat32Array()[0], 100);
    assertClose(y, siluRef(toF64(x)), { atol: 1e-6, rtol: 1e-6 }, 'silu at extremes');
    const slope = (v: number) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 + v * (1 - s)); };
    assertClose(dx, toF64(x).map((v, i) => r.toFloat32Array()[i] * (Number.isFinite(slope(v)) ? slope(v) : v > 0 ? 1 : 0)), TIGHT, 'silu backward at extremes');
  });
});

test('silu and its slope stay within a few ulp of float64 on a dense sweep of [-88, 88]', () => {
  tidy(() => {
    const n = 200_001, xs = Float32Array.from({ length: n }, (_, i) => -88 + (176 * i) / (n - 1));
    const x = Tensor.from(xs, [n]), ones = ops.fill(Tensor.zeros([n]), 1);
    const y = ops.silu(x).toFloat32Array(), slope = ops.siluBackward(ones, x).toFloat32Array();
    let worst = 0, worstAt = 0, worstSlope = 0, slopeAt = 0;
    for (let i = 0; i < n; i++) {
      const v = xs[i], s = sigmoid64(v);
      // y = x / (1 + e^-x) rounds 1 + e^-x and the quotient on top of exp's 1 ulp: measured at most 2.3 ulp.
      const e = Math.abs(y[i] - v * s) / ulpOf(v * s);
      if (e > worst) { worst = e; worstAt = v; }
      // The slope's 1 - s cancels as s -> 1: measure against the size of its terms (measured at most 8.2 ulp).
      const es = Math.abs(slope[i] - s * (1 + v * (1 - s))) / ulpOf(s * (1 + Math.abs(v * (1 - s))));
      if (es > worstSlope) { worstSlope = es; slopeAt = v; }
    }
    assert.ok(worst <= 3, `silu: ${worst.toFixed(2)} ulp at x = ${worstAt}`);
    assert.ok(worstSlope <= 12, `silu slope: ${worstSlope.toFixed(2)} ulp at x = ${slopeAt}`);
  });
});

test('silu: an element\'s bits do not depend on n or its position (tails run the same vector exp)', () => {
  tidy(() => {
    const x = randomTensor([1031], 21, 10), dy = randomTensor([1031], 22), y = ops.silu(x), dx = ops.siluBackward(dy, x);
    // Every element once in a scalar tail (lengths 1 to 3), plus views that shift the vector lanes.
    const views = [[1, 1030], [2, 1029], [3, 1028], ...Array.from({ length: 1029 }, (_, i) => [i, 1 + (i % 3)])];
    for (const [offset, length] of views) {
      const part = (t: Tensor) => t.subview(offset, [length]);
      assert.equal(bits(ops.silu(part(x))), bits(y.toFloat32Array().subarray(offset, offset + length)), `silu [${offset}, +${length})`);
      assert.equal(bits(ops.siluBackward(part(dy), part(x))), bits(dx.toFloat32Array().subarray(offset, offset + length)), `dx [${offset}, +${length})`);
    }
  });
});

test('siluBackward matches central finite differences of the float64 reference', () => {
  tidy(() => {
    const x = randomTensor([13], 7, 5), r = randomTensor([13], 8);
    const fd = finiteDifference((v) => dot(siluRef(v), toF64(r)), toF64(x));
    assertClose(ops.siluBackward(r, x), fd, FD, 'silu dx');
  });
});

// ---------------------------------------------------------------- reductions

for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 17, 1031, 1_000_003]) {
  test(`sum, sumOfSquares, mseLoss n=${n}: SIMD ~ scalar twin ~ float64`, () => {
    tidy(() => {
      const x = randomTensor([n], n + 11, 3), y = randomTensor([n], n + 12);
      const [x64, y64] = [toF64(x), toF64(y)];
      const close = (got: number, want: number, what: string) =>
        assert.ok(Math.abs(got - want) <= 1e-12 * (1 + Math.abs(want)) * Math.sqrt(n + 1), `${what}: ${got} vs ${want}`);
      for (const [name, want] of [['sum', sumRef(x64)], ['sumOfSquares', sumRef(x64, true)]] as const) {
        close(run(name, x.ptr, n), want, `${name} SIMD`);
        close(run(`${name}Scalar`, x.ptr, n), want, `${name} scalar`);
      }
      const mse = n > 0 ? mseRef(x64, y64) : 0;
      close(run('mseLoss', x.ptr, y.ptr, n), mse, 'mseLoss SIMD');
      close(run('mseLossScalar', x.ptr, y.ptr, n), mse, 'mseLoss scalar');
      assert.is(ops.sum(x), run('sum', x.ptr, n));
    });
  });
}

test('sum and sumOfSquares are exact where the answer is: 1..1,000,003 and squares of 1..200,003', () => {
  tidy(() => {
    const n = 1_000_003, ints = Tensor.from(Float32Array.from({ length: n }, (_, i) => i + 1), [n]);
    assert.is(ops.sum(ints), (n * (n + 1)) / 2);
    assert.is(run('sumScalar', ints.ptr, n), (n * (n + 1)) / 2);
    const m = 200_003, squares = (m * (m + 1) * (2 * m + 1)) / 6;
    assert.ok(squares < 2 ** 53);
    assert.is(ops.sumOfSquares(ints.subview(0, [m])), squares);
    assert.is(run('sumOfSquaresScalar', ints.ptr, m), squares);
    // pred - target = i mod 7 exactly: the mean of squares is a known ratio.
    const k7 = 700_007, pred = Tensor.from(Float32Array.from({ length: k7 }, (_, i) => 1000 + (i % 7)), [k7]);
    assert.is(ops.mseLoss(pred, ops.fill(Tensor.zeros([k7]), 1000)), (0 + 1 + 4 + 9 + 16 + 25 + 36) / 7);
  });
});

test('reductions: the result depends only on the values and n, not on the memory offset', () => {
  tidy(() => {
    const base = randomTensor([1000], 3);
    for (const offset of [1, 2, 3]) {
      const view = base.subview(offset, [997]), copy = view.reshape([997]);
      assert.is(ops.sum(view), ops.sum(copy));
      assert.is(ops.sumOfSquares(view), ops.sumOfSquares(copy));
    }
  });
});

test('countNonFinite counts NaN (any payload) and ±Inf, not max, denormal or -0; SIMD = scalar', () => {
  tidy(() => {
    // Three NaN payloads, +Inf, -Inf, then finite edge cases: the largest float, the smallest denormal, -0.
    const specials = [0x7fc00000, 0xffc00001, 0x7f800001, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001, 0x80000000];
    for (const n of [0, 1, 3, 4, 5, 8, 17, 1_000_003]) {
      const x = randomTensor([n], n);
      const raw = new Uint32Array(k().memory.buffer, x.ptr, n);
      const used = Math.min(n, specials.length), stride = Math.max(1, Math.floor(n / used || 1));
      for (let j = 0; j < used; j++) raw[(j * stride + (n > 8 ? 3 : 0)) % n] = specials[j];
      const expected = specials.slice(0, used).filter((b) => (b & 0x7f800000) === 0x7f800000).length;
      assert.is(ops.countNonFinite(x), expected, `n=${n}`);
      assert.is(run('countNonFiniteScalar', x.ptr, n), expected, `n=${n} scalar`);
    }
  });
});

test('mseLossBackward adds scale * 2 (pred - target) / n; SIMD = scalar; matches finite differences', () => {
  tidy(() => {
    for (const n of SIZES.filter((v) => v > 0)) {
      const p = randomTensor([n], n), t = randomTensor([n], n + 1), prior = randomTensor([n], n + 2);
      const g = twins('mseLossBackward', [n], (f, d) => run(f, d, p.ptr, t.ptr, n, 0.25), prior);
      assert.equal(bits(ops.mseLossBackward(p, t, 0.25, { dpred: prior.reshape([n]) })), bits(g));
      const fd = finiteDifference((v) => 0.25 * mseRef(v, toF64(t)), toF64(p));
      assertClose(g, toF64(prior).map((v, i) => v + fd[i]), FD, `mse dpred n=${n}`);
    }
  });
});

// ---------------------------------------------------------------- feature maps

// [N, C, H, W]: batch 1, C = 3 and 5, odd and 1-wide planes, W off the 4-lane width.
const MAPS: [number, number, number, number][] = [[1, 1, 1, 1], [1, 3, 1, 5], [2, 5, 3, 3], [3, 3, 4, 4], [2, 2, 5, 7], [1, 3, 2, 17]];

for (const [N, C, H, W] of MAPS) {
  const HW = H * W, P = N * C;
  test(`feature maps [${N}, ${C}, ${H}, ${W}]: channel bias, avg pool, upsample, concat: SIMD = scalar ~ float64 + FD`, () => {
    tidy(() => {
      const x = randomTensor([N, C, H, W], HW + 1), bias = randomTensor([N, C], HW + 2), r = randomTensor([N, C, H, W], HW + 3);
      const [x64, bias64, r64] = [toF64(x), toF64(bias), toF64(r)];
      const biased = twins('addChannelBias', [N, C, H, W], (f, o) => run(f, o, bias.ptr, N, C, HW), x);
      assertClose(biased, addChannelBiasRef(x64, bias64, HW), TIGHT, 'addChannelBias');
      assert.equal(bits(ops.addChannelBias(x.reshape(x.shape), bias)), bits(biased));
      const prior = randomTensor([N, C], 9);
      const dbias = twins('channelBiasBackward', [N, C], (f, d) => run(f, d, r.ptr, N, C, HW), prior);
      const fdBias = finiteDifference((v) => dot(addChannelBiasRef(x64, v, HW), r64), bias64);
      assertClose(dbias, toF64(prior).map((v, i) => v + fdBias[i]), FD, 'channelBiasBackward vs FD');
      assertClose(ops.channelBiasBackward(r), fdBias, FD, 'ops.channelBiasBackward');

      const pooled = twins('globalAvgPoolForward', [N, C], (f, y) => run(f, y, x.ptr, N, C, HW));
      assertClose(pooled, globalAvgPoolRef(x64, P, HW), TIGHT, 'globalAvgPool');
      assert.equal(bits(ops.globalAvgPool(x)), bits(pooled));
      const rp = randomTensor([N, C], 10), rp64 = toF64(rp), priorX = randomTensor([N, C, H, W], 11);
      const dxPool = twins('globalAvgPoolBackward', [N, C, H, W], (f, d) => run(f, d, rp.ptr, N, C, HW), priorX);
      const fdPool = finiteDifference((v) => dot(globalAvgPoolRef(v, P, HW), rp64), x64.slice());
      assertClose(dxPool, toF64(priorX).map((v, i) => v + fdPool[i]), FD, 'globalAvgPoolBackward vs FD');
      assertClose(ops.globalAvgPoolBackward(rp, x.shape), fdPool, FD, 'ops.globalAvgPoolBackward');

      const up = twins('upsampleNearest2xForward', [N, C, 2 * H, 2 * W], (f, y) => run(f, y, x.ptr, N, C, H, W));
      assert.equal(Array.from(up.toFloat32Array()), Array.from(upsampleRef(x64, P * H, W)), 'upsample copies exactly');
      const ru = randomTensor([N, C, 2 * H, 2 * W], 12), ru64 = toF64(ru);
      const dxUp = twins('upsampleNearest2xBackward', [N, C, H, W], (f, d) => run(f, d, ru.ptr, N, C, H, W), priorX);
      const fdUp = finiteDifference((v) => dot(upsampleRef(v, P * H, W), ru64), x64.slice());
      assertClose(dxUp, toF64(priorX).map((v, i) => v + fdUp[i]), FD, 'upsample backward vs FD');
      assert.equal(bits(ops.upsampleNearest2xBackward(ru, { dx: priorX.reshape(priorX.shape) })), bits(dxUp));

      const CB = C + 2, b = randomTensor([N, CB, H, W], 13), rc = randomTensor([N, C + CB, H, W], 14), rc64 = toF64(rc);
      const cat = twins('concatChannels', [N, C + CB, H, W], (f, o) => run(f, o, x.ptr, b.ptr, N, C, CB, HW));
      assert.equal(Array.from(cat.toFloat32Array()), Array.from(concatRef(x64, toF64(b), N, C, CB, HW)));
      assert.equal(bits(ops.concatChannels(x, b)), bits(cat));
      const priorB = randomTensor([N, CB, H, W], 15);
      const das = [priorX.reshape(x.shape), priorX.reshape(x.shape)], dbs = [priorB.reshape(b.shape), priorB.reshape(b.shape)];
      k().concatChannelsBackward(das[0].ptr, dbs[0].ptr, rc.ptr, N, C, CB, HW);
      k().concatChannelsBackwardScalar(das[1].ptr, dbs[1].ptr, rc.ptr, N, C, CB, HW);
      assert.equal(bits(das[0]), bits(das[1]));
      assert.equal(bits(dbs[0]), bits(dbs[1]));
      const fdA = finiteDifference((v) => dot(concatRef(v, toF64(b), N, C, CB, HW), rc64), x64.slice());
      const fdB = finiteDifference((v) => dot(concatRef(x64, v, N, C, CB, HW), rc64), toF64(b));
      assertClose(das[0], toF64(priorX).map((v, i) => v + fdA[i]), FD, 'concat da vs FD');
      assertClose(dbs[0], toF64(priorB).map((v, i) => v + fdB[i]), FD, 'concat db vs FD');
      const onlyB = ops.concatChannelsBackward(rc, C, { da: null });
      assert.is(onlyB.da, null);
      assertClose(onlyB.db, fdB, FD, 'ops.concatChannelsBackward db alone');
    });
  });
}

// ---------------------------------------------------------------- softmax cross-entropy

for (const [N, CLASSES] of [[1, 1], [1, 2], [3, 5], [4, 4], [2, 17], [7, 10]]) {
  test(`softmaxCrossEntropy N=${N} CLASSES=${CLASSES}: SIMD = scalar (bits) ~ float64; backward ~ FD`, () => {
    tidy(() => {
      const logits = randomTensor([N, CLASSES], N * 100 + CLASSES, 4), l64 = toF64(logits);
      const labels = Int32Array.from({ length: N }, (_, n) => (n * 7 + 3) % CLASSES);
      const ref = softmaxCrossEntropyRef(l64, labels, N, CLASSES);
      const { loss, probs } = ops.softmaxCrossEntropy(logits, labels);
      assert.ok(Math.abs(loss - ref.loss) <= 1e-6 * (1 + ref.loss), `loss ${loss} vs ${ref.loss}`);
      assertClose(probs, ref.probs, TIGHT, 'probs');
      const labelPtr = Tensor.zeros([N]);
      new Int32Array(k().memory.buffer, labelPtr.ptr, N).set(labels);
      const p2 = new Tensor([N, CLASSES]);
      assert.is(k().softmaxCrossEntropyScalar(p2.ptr, logits.ptr, labelPtr.ptr, N, CLASSES), loss);
      assert.equal(bits(p2), bits(probs));
      const prior = randomTensor([N, CLASSES], 3);
      const d = twins('softmaxCrossEntropyBackward', [N, CLASSES], (f, dl) => run(f, dl, probs.ptr, labelPtr.ptr, N, CLASSES, 0.5), prior);
      const fd = finiteDifference((v) => 0.5 * softmaxCrossEntropyRef(v, labels, N, CLASSES).loss, l64.slice());
      assertClose(d, toF64(prior).map((v, i) => v + fd[i]), FD, 'dlogits vs FD');
      assert.equal(bits(ops.softmaxCrossEntropyBackward(probs, labels, 0.5, { dlogits: prior.reshape(prior.shape) })), bits(d));
    });
  });
}

test('softmaxCrossEntropy is stable at logits ±1000', () => {
  tidy(() => {
    const rows = [[1000, -1000, 0], [-1000, -1000, -1000], [1000, 1000, -1000], [-1000, 1000, 999]];
    const logits = Tensor.from(rows.flat(), [4, 3]), labels = Int32Array.from([1, 2, 0, 2]);
    const { loss, probs } = ops.softmaxCrossEntropy(logits, labels);
    assert.is(ops.countNonFinite(probs), 0);
    const ref = softmaxCrossEntropyRef(rows.flat(), labels, 4, 3);
    assert.ok(Number.isFinite(loss) && Math.abs(loss - ref.loss) <= 1e-6 * ref.loss, `loss ${loss} vs ${ref.loss}`);
    assertClose(probs, ref.probs, TIGHT, 'probs');
    assert.is(ops.countNonFinite(ops.softmaxCrossEntropyBackward(probs, labels)), 0);
  });
});

// ---------------------------------------------------------------- timestep embeddings

const EMBEDS: [number, boolean, number, number][] = [
  [1, true, 0, 10000], [2, false, 0, 10000], [7, true, 0, 10000], [32, true, 0, 10000], [33, false, 1, 10000], [6, true, 1, 100],
];
for (const [dim, flip, shift, maxPeriod] of EMBEDS) {
  test(`timestepEmbedding dim=${dim} flip=${flip} shift=${shift} maxPeriod=${maxPeriod}: SIMD = scalar ~ float64`, () => {
    tidy(() => {
      const t = Float32Array.from([0, 1, 17.5, 250, 999, 0.25]), N = t.length, ts = Tensor.from(t, [N]);
      const out = ops.timestepEmbedding(t, dim, { flipSinToCos: flip, downscaleFreqShift: shift, maxPeriod });
      assert.equal(out.shape, [N, dim]);
      assert.equal(bits(out), bits(twins('timestepEmbedding', [N, dim], (f, o) => run(f, o, ts.ptr, N, dim, flip ? 1 : 0, shift, maxPeriod))));
      assertClose(out, timestepEmbeddingRef(t, dim, flip, shift, maxPeriod), { atol: 1e-7, rtol: 1e-6 }, 'embedding');
      assert.equal(bits(ops.timestepEmbedding(ts, dim, { flipSinToCos: flip, downscaleFreqShift: shift, maxPeriod })), bits(out));
      if (dim % 2) for (let n = 0; n < N; n++) assert.is(out.toFloat32Array()[n * dim + dim - 1], 0);
    });
  });
}

test('timestepEmbedding defaults are UNet2DModel\'s: flipSinToCos true, shift 0, maxPeriod 10000', () => {
  tidy(() => {
    const t = Float32Array.from([3, 500]);
    assert.equal(bits(ops.timestepEmbedding(t, 8)), bits(ops.timestepEmbedding(t, 8, { flipSinToCos: true, downscaleFreqShift: 0, maxPeriod: 10000 })));
  });
});

// ---------------------------------------------------------------- bad inputs and memory

test('every op rejects bad inputs before calling a kernel, with a message naming the op, argument and shapes', () => {
  tidy(() => {
    const z = (...s: number[]) => Tensor.zeros(s);
    const cases: [() => unknown, RegExp][] = [
      [() => ops.silu([1, 2] as never), /silu: x must be a Tensor, got an array \[1, 2\]/],
      [() => ops.siluBackward(z(3), z(4)), /siluBackward: dy must have the shape of x: x \[4\], dy \[3\]/],
      [() => ops.siluBackward(z(3), z(3), { dx: z(2) }), /siluBackward: into.dx must have shape \[3\], got \[2\]/],
      [() => ops.add(z(2, 3), z(3, 2)), /add: b must have the shape of a: a \[2, 3\], b \[3, 2\]/],
      [() => ops.sub(z(2), z(3)), /sub: b must have the shape of a/],
      [() => ops.mul(z(2), null as never), /mul: b must be a Tensor, got null/],
      [() => ops.scale(z(2), NaN), /scale: alpha must be a finite number, got NaN/],
      [() => ops.addInPlace(z(2), z(3)), /addInPlace: x must have the shape of y: y \[2\], x \[3\]/],
      [() => ops.addInPlace(z(2), z(2), Infinity), /addInPlace: alpha must be a finite number, got Infinity/],
      [() => ops.fill(z(2), '1' as never), /fill: value must be a finite number, got '1'/],
      [() => ops.sum(undefined as never), /sum: x must be a Tensor, got undefined/],
      [() => ops.mseLoss(z(2, 2), z(4)), /mseLoss: target must have the shape of pred: pred \[2, 2\], target \[4\]/],
      [() => ops.mseLoss(z(0), z(0)), /mseLoss: pred is empty \(shape \[0\]\): the mean is undefined/],
      [() => ops.mseLossBackward(z(2), z(2), NaN), /mseLossBackward: scale must be a finite number, got NaN/],
      [() => ops.mseLossBackward(z(2), z(2), 1, { dpred: z(3) }), /mseLossBackward: into.dpred must have shape \[2\], got \[3\]/],
      [() => ops.softmaxCrossEntropy(z(2, 3), Int32Array.from([0, 3])), /softmaxCrossEntropy: labels\[1\] = 3 is outside \[0, 3\) \(logits \[2, 3\]\)/],
      [() => ops.softmaxCrossEntropy(z(2, 3), Int32Array.from([-1, 0])), /labels\[0\] = -1 is outside \[0, 3\)/],
      [() => ops.softmaxCrossEntropy(z(2, 3), Int32Array.from([0])), /softmaxCrossEntropy: labels has 1 entries, logits \[2, 3\] has 2 rows/],
      [() => ops.softmaxCrossEntropy(z(2, 3), [0, 1] as never), /softmaxCrossEntropy: labels must be an Int32Array, got object/],
      [() => ops.softmaxCrossEntropy(z(6), Int32Array.from([0])), /softmaxCrossEntropy: logits must have rank 2 \[N, CLASSES\], got shape \[6\]/],
      [() => ops.softmaxCrossEntropy(z(2, 0), Int32Array.from([0, 0])), /softmaxCrossEntropy: logits must have at least one row and one class, got \[2, 0\]/],
      [() => ops.softmaxCrossEntropyBackward(z(2, 3), Int32Array.from([0, 1]), 1, { dlogits: z(3, 2) }), /softmaxCrossEntropyBackward: into.dlogits must have shape \[2, 3\], got \[3, 2\]/],
      [() => ops.softmaxCrossEntropyBackward(z(2, 3), Int32Array.from([0, 5])), /softmaxCrossEntropyBackward: labels\[1\] = 5 is outside \[0, 3\) \(probs \[2, 3\]\)/],
      [() => ops.addChannelBias(z(2, 3, 4, 4), z(2, 4)), /addChannelBias: bias must be \[N, C\] = \[2, 3\] for x \[2, 3, 4, 4\], got \[2, 4\]/],
      [() => ops.addChannelBias(z(3), z(3)), /addChannelBias: x must be \[N, C, \.\.\.spatial\] \(rank >= 2\), got \[3\]/],
      [() => ops.channelBiasBackward(z(2, 3, 4), { dbias: z(3) }), /channelBiasBackward: into.dbias must have shape \[2, 3\], got \[3\]/],
      [() => ops.globalAvgPool(z(2, 3, 0, 4)), /globalAvgPool: x \[2, 3, 0, 4\] has an empty spatial size/],
      [() => ops.globalAvgPoolBackward(z(2, 4), [2, 3, 5, 5]), /globalAvgPoolBackward: dy must be \[N, C\] = \[2, 3\] for xShape \[2, 3, 5, 5\], got \[2, 4\]/],
      [() => ops.globalAvgPoolBackward(z(2), [2]), /globalAvgPoolBackward: xShape must be \[N, C, \.\.\.spatial\], got \[2\]/],
      [() => ops.globalAvgPoolBackward(z(2, 3), [2, 3, -1]), /globalAvgPoolBackward: shape \[2, 3, -1\] has an invalid size -1/],
      [() => ops.upsampleNearest2x(z(2, 3, 4)), /upsampleNearest2x: x must have rank 4 \[N, C, H, W\], got shape \[2, 3, 4\]/],
      [() => ops.upsampleNearest2xBackward(z(1, 2, 4, 5)), /upsampleNearest2xBackward: dy must have an even height and width \[N, C, 2H, 2W\], got \[1, 2, 4, 5\]/],
      [() => ops.upsampleNearest2xBackward(z(1, 2, 4, 4), { dx: z(1, 2, 4, 4) }), /upsampleNearest2xBackward: into.dx must have shape \[1, 2, 2, 2\], got \[1, 2, 4, 4\]/],
      [() => ops.concatChannels(z(2, 3, 4, 4), z(2, 3, 4, 5)), /concatChannels: a and b must differ only in channels \(dimension 1\): a \[2, 3, 4, 4\], b \[2, 3, 4, 5\]/],
      [() => ops.concatChannels(z(2, 3, 4, 4), z(1, 3, 4, 4)), /concatChannels: a and b must differ only in channels/],
      [() => ops.concatChannelsBackward(z(2, 5, 3), 6), /concatChannelsBackward: channelsA must be an integer in \[0, 5\] \(the channels of dout \[2, 5, 3\]\), got 6/],
      [() => ops.concatChannelsBackward(z(2, 5, 3), 2, { db: z(2, 2, 3) }), /concatChannelsBackward: into.db must have shape \[2, 3, 3\], got \[2, 2, 3\]/],
      [() => ops.timestepEmbedding(Float32Array.from([1]), 0), /timestepEmbedding: dim must be an integer >= 1, got 0/],
      [() => ops.timestepEmbedding(z(2, 1), 4), /timestepEmbedding: timesteps must have rank 1 \[N\], got shape \[2, 1\]/],
      [() => ops.timestepEmbedding(Float32Array.from([1]), 4, { maxPeriod: 0 }), /timestepEmbedding: maxPeriod must be a finite positive number, got 0/],
      [() => ops.timestepEmbedding(Float32Array.from([1]), 4, { maxPeriod: 1e-50 }), /timestepEmbedding: maxPeriod must fit a float32 and be positive, got 1e-50/],
      [() => ops.timestepEmbedding(Float32Array.from([1]), 4, { downscaleFreqShift: 2 }), /timestepEmbedding: downscaleFreqShift \(2\) must differ from floor\(dim \/ 2\) = 2/],
      [() => ops.timestepEmbedding(Float32Array.from([1]), 4, { flipSinToCos: 1 as never }), /timestepEmbedding: flipSinToCos must be a boolean, got 1/],
    ];
    for (const [call, message] of cases) assert.throws(call, message, String(message));
  });
});

test('ops that stage labels or timesteps in wasm memory free them: memory stays flat', () => {
  const logits = randomTensor([8, 10], 1), labels = Int32Array.from({ length: 8 }, (_, i) => i);
  const t = Float32Array.from(seededFloats(8, 2), (v) => 500 * (v + 1));
  const step = () => tidy(() => {
    const { probs } = ops.softmaxCrossEntropy(logits, labels);
    ops.softmaxCrossEntropyBackward(probs, labels);
    ops.timestepEmbedding(t, 16);
  });
  step();
  const before = memoryStats();
  for (let i = 0; i < 10; i++) step();
  assert.is(memoryStats().liveBytes, before.liveBytes);
  assert.is(memoryStats().heapBytes, before.heapBytes);
  logits.dispose();
});

test.run();
