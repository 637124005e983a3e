import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { assertClose } from '../helpers.ts';
import { hooks, onHeap } from './test-hooks.ts';
import { bitsRef, intOfWord, normalsRef, philoxRef, uniformOfWord } from '../ref/random.ts';

await init();

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0'));

/** Runs a fill kernel into fresh storage and returns its raw 32-bit words. */
function fillWords(run: (ptr: number) => void, n: number): Uint32Array {
  return tidy(() => {
    const out = new Tensor([n]);
    run(out.ptr);
    return new Uint32Array(wasm().memory.buffer, out.ptr, n).slice();
  });
}

// Known answers of Philox4x32-10 from the Random123 distribution's kat_vectors, as quoted in
// DEShawResearch/Random123-Boost libs/random/test/test_philox.cpp ("cut-and-pasted from the kat_vectors file").
const KAT: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

for (const [counter, key, expected] of KAT) {
  test(`philox4x32 known answer: counter ${hex(counter).join(' ')}, key ${hex(key).join(' ')}`, () => {
    const got = onHeap(4, (ptr) => hooks.philox4x32(ptr, counter[0], counter[1], counter[2], counter[3], key[0], key[1]));
    assert.equal(hex(got), hex(expected));
    assert.equal(hex(philoxRef(counter, key)), hex(expected), 'the TypeScript reference');
  });
}

// Addresses that exercise the seed's high word, the last stream, and block counters whose low word wraps.
const ADDRESSES: { seed: number; stream: number; offset: number; n: number }[] = [
  { seed: 0, stream: 0, offset: 0, n: 1 },
  { seed: 1, stream: 0, offset: 0, n: 37 },
  { seed: 12345, stream: 7, offset: 3, n: 64 },
  { seed: 2 ** 32 + 5, stream: 2 ** 32 - 1, offset: 13, n: 17 },
  { seed: 2 ** 53 - 1, stream: 0x80000000, offset: 2 ** 34 - 23, n: 50 }, // blocks 2^32 - 6 .. 2^32 + 6
  { seed: 99, stream: 3, offset: 2 ** 53 - 40, n: 30 },
];
const split = (seed: number) => [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];

for (const { seed, stream, offset, n } of ADDRESSES) {
  const label = `seed ${seed}, stream ${stream}, offset ${offset}, n ${n}`;
  test(`randBitsFill (SIMD) = scalar twin = reference Philox words: ${label}`, () => {
    const [lo, hi] = split(seed);
    const simd = onHeap(n, (p) => hooks.randBitsFill(p, n, lo, hi, offset, stream));
    const scalar = onHeap(n, (p) => hooks.randBitsFillScalar(p, n, lo, hi, offset, stream));
    const ref = bitsRef(seed, stream, offset, n);
    assert.equal(hex(simd), hex(ref));
    assert.equal(hex(scalar), hex(ref));
  });

  test(`randn, randUniform, randInt: SIMD = scalar twin (bits) ~ reference: ${label}`, () => {
    const [lo, hi] = split(seed);
    const words = bitsRef(seed, stream, offset, n);
    const normals = fillWords((p) => wasm().randnFill(p, n, lo, hi, offset, stream), n);
    assert.equal(hex(normals), hex(fillWords((p) => wasm().randnFillScalar(p, n, lo, hi, offset, stream), n)));
    assertClose(new Float32Array(normals.buffer), normalsRef(seed, stream, offset, n), { atol: 1e-6, rtol: 1e-6 }, 'normals');
    const uniform = fillWords((p) => wasm().randUniformFill(p, n, lo, hi, offset, stream), n);
    assert.equal(hex(uniform), hex(fillWords((p) => wasm().randUniformFillScalar(p, n, lo, hi, offset, stream), n)));
    assert.equal(Array.from(new Float32Array(uniform.buffer)), words.map(uniformOfWord));
    for (const high of [1, 3, 1000, 2 ** 31]) {
      const ints = fillWords((p) => wasm().randIntFill(p, n, lo, hi, offset, stream, high), n);
      assert.equal(hex(ints), hex(fillWords((p) => wasm().randIntFillScalar(p, n, lo, hi, offset, stream, high), n)));
      assert.equal(Array.from(new Int32Array(ints.buffer)), words.map((w) => intOfWord(w, high)), `high ${high}`);
    }
  });
}

test('a slice at any offset equals the same elements of the stream generated from 0 (randn, randUniform, randInt)', () => {
  tidy(() => {
    const seed = 2024, stream = 5;
    const full = ops.randn([200], { seed, stream }).toFloat32Array();
    const fullU = ops.randUniform([200], { seed, stream }).toFloat32Array();
    const fullI = ops.randInt(200, 77, { seed, stream });
    for (const offset of [0, 1, 2, 3, 5, 7, 13, 15, 16, 17, 31, 33, 63, 100]) {
      for (const n of [1, 2, 3, 4, 5, 15, 16, 17, 37, 100 - (offset % 7)]) {
        const part = ops.randn([n], { seed, stream, offset }).toFloat32Array();
        assert.equal(hex(new Uint32Array(part.buffer)), hex(new Uint32Array(full.slice(offset, offset + n).buffer)), `randn offset ${offset} n ${n}`);
        const partU = ops.randUniform([n], { seed, stream, offset }).toFloat32Array();
        assert.equal(Array.from(partU), Array.from(fullU.slice(offset, offset + n)), `randUniform offset ${offset} n ${n}`);
        assert.equal(Array.from(ops.randInt(n, 77, { seed, stream, offset })), Array.from(fullI.slice(offset, offset + n)));
      }
    }
  });
});

test('randnInto fills in place exactly as randn does, and views fill only their own elements', () => {
  tidy(() => {
    const t = Tensor.zeros([3, 5, 7]);
    assert.is(ops.randnInto(t, { seed: 8, offset: 11, stream: 2 }), t);
    assert.equal(Array.from(t.toFloat32Array()), Array.from(ops.randn([3, 5, 7], { seed: 8, offset: 11, stream: 2 }).toFloat32Array()));
    const flat = Tensor.zeros([20]);
    ops.randnInto(flat.subview(5, [9]), { seed: 8 });
    const values = flat.toFloat32Array();
    assert.equal(Array.from(values.subarray(5, 14)), Array.from(ops.randn([9], { seed: 8 }).toFloat32Array()));
    assert.ok([...values.subarray(0, 5), ...values.subarray(14)].every((v) => v === 0), 'outside the view stays 0');
  });
});

test('different seeds, seed high words, streams and offsets give different numbers', () => {
  tidy(() => {
    const draw = (options: ops.RandomOptions) => Array.from(ops.randn([64], options).toFloat32Array());
    const base = draw({ seed: 1 });
    const others = [draw({ seed: 2 }), draw({ seed: 1 + 2 ** 32 }), draw({ seed: 1, stream: 1 }), draw({ seed: 1, offset: 64 })];
    for (const other of others) {
      const same = other.filter((v, i) => v === base[i]).length;
      assert.ok(same === 0, `${same} of 64 values coincide`);
    }
    assert.equal(draw({ seed: 1 }), base, 'the same address gives the same numbers');
  });
});

test('1,000,000 normals: mean, variance, kurtosis, tails and pair correlation of a standard normal', () => {
  const z = tidy(() => ops.randn([1_000_000], { seed: 42, stream: 3 }).toFloat32Array());
  let sum = 0, sq = 0, fourth = 0, beyond1 = 0, beyond3 = 0, pairs = 0, lag = 0;
  for (let i = 0; i < z.length; i++) {
    const x = z[i];
    sum += x; sq += x * x; fourth += x ** 4;
    if (Math.abs(x) > 1) beyond1++;
    if (Math.abs(x) > 3) beyond3++;
    if (i % 2 === 1) pairs += z[i - 1] * x; // the two outputs of one Box-Muller pair
    else if (i > 0) lag += z[i - 1] * x; // neighbours from different pairs
  }
  const n = z.length, mean = sum / n, variance = sq / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.01, `variance ${variance}`);
  assert.ok(Math.abs(fourth / n - 3) < 0.06, `fourth moment ${fourth / n} (3 for a normal)`);
  assert.ok(Math.abs(beyond1 / n - 0.317311) < 0.003, `P(|z| > 1) = ${beyond1 / n}`);
  assert.ok(Math.abs(beyond3 / n - 0.0026998) < 0.0003, `P(|z| > 3) = ${beyond3 / n}`);
  assert.ok(Math.abs(pairs / (n / 2)) < 0.01, `pair correlation ${pairs / (n / 2)}`);
  assert.ok(Math.abs(lag / (n / 2)) < 0.01, `neighbour correlation ${lag / (n / 2)}`);
});

test('uniform numbers lie in [0, 1), are evenly spread, and the largest word maps below 1', () => {
  const u = tidy(() => ops.randUniform([200_000], { seed: 7 }).toFloat32Array());
  const bins = new Array(10).fill(0);
  let sum = 0;
  for (const x of u) {
    assert.ok(x >= 0 && x < 1, `value ${x}`);
    bins[Math.floor(x * 10)]++;
    sum += x;
  }
  assert.ok(Math.abs(sum / u.length - 0.5) < 0.003, `mean ${sum / u.length}`);
  const expected = u.length / 10;
  const chi2 = bins.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 27.9, `chi-squared ${chi2} with 9 degrees of freedom (p = 0.001 at 27.9)`);
  // Word 0xffffffee sits at this address: round-to-nearest would give exactly 1.
  const address = { seed: 1, offset: 77404625 };
  assert.equal(hex(bitsRef(1, 0, address.offset, 1)), ['ffffffee']);
  const top = tidy(() => ops.randUniform([1], address).toFloat32Array()[0]);
  assert.is(top, 1 - 2 ** -24);
  assert.equal(Array.from(ops.randInt(1, 2 ** 31, address)), [0xffffffee >>> 1], 'high 2^31 keeps the top 31 bits');
});

test('randInt: values in [0, high), evenly spread; high = 1 gives zeros', () => {
  const high = 10, v = ops.randInt(100_000, high, { seed: 3, stream: 9 });
  assert.ok(v instanceof Int32Array && v.length === 100_000);
  const counts = new Array(high).fill(0);
  for (const x of v) {
    assert.ok(Number.isInteger(x) && x >= 0 && x < high, `value ${x}`);
    counts[x]++;
  }
  const chi2 = counts.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0);
  assert.ok(chi2 < 27.9, `chi-squared ${chi2} with 9 degrees of freedom`);
  assert.ok(ops.randInt(50, 1, { seed: 3 }).every((x) => x === 0));
  const timesteps = ops.randInt(10_000, 1000, { seed: 4 });
  assert.ok(timesteps.every((x) => x >= 0 && x < 1000));
  assert.ok(new Set(timesteps).size > 990, 'nearly every timestep drawn');
  assert.is(ops.randInt(0, 5, { seed: 1 }).length, 0);
});

test('empty shapes give empty tensors', () => {
  tidy(() => {
    assert.equal(ops.randn([0, 3], { seed: 1 }).shape, [0, 3]);
    assert.is(ops.randUniform([2, 0], { seed: 1 }).size, 0);
  });
});

test('bad arguments throw messages that name the op and the option', () => {
  tidy(() => {
    const cases: [() => unknown, RegExp][] = [
      [() => ops.randn([2], undefined as never), /randn: options must be an object \{ seed, offset\?, stream\? \}, got undefined/],
      [() => ops.randn([2], {} as never), /randn: options\.seed must be a non-negative safe integer \(0 \.\. 2\^53 - 1\), got undefined/],
      [() => ops.randn([2], { seed: -1 }), /randn: options\.seed must be a non-negative safe integer .*got -1/],
      [() => ops.randn([2], { seed: 1.5 }), /options\.seed .*got 1\.5/],
      [() => ops.randn([2], { seed: 2 ** 53 }), /options\.seed .*got 9007199254740992/],
      [() => ops.randn([2], { seed: '3' as never }), /options\.seed .*got '3'/],
      [() => ops.randn([2], { seed: 1, offset: -4 }), /randn: options\.offset must be a non-negative safe integer .*got -4/],
      [() => ops.randn([2], { seed: 1, offset: NaN }), /options\.offset .*got NaN/],
      [() => ops.randn([2], { seed: 1, stream: 2 ** 32 }), /randn: options\.stream must be an integer in \[0, 2\^32\), got 4294967296/],
      [() => ops.randn([2], { seed: 1, stream: -1 }), /options\.stream .*got -1/],
      [() => ops.randn([2], { seed: 1, ofset: 3 } as never), /randn: unknown option 'ofset' \(allowed: seed, offset, stream\)/],
      [() => ops.randn([2, -1], { seed: 1 }), /randn: shape \[2, -1\] has an invalid size -1/],
      [() => ops.randUniform([1.5], { seed: 1 }), /randUniform: shape \[1\.5\] has an invalid size 1\.5/],
      [() => ops.randnInto(new Float32Array(3) as never, { seed: 1 }), /randnInto: tensor must be a Tensor/],
      [() => ops.randInt(-1, 5, { seed: 1 }), /randInt: count must be an integer >= 0, got -1/],
      [() => ops.randInt(3, 0, { seed: 1 }), /randInt: high must be an integer >= 1, got 0/],
      [() => ops.randInt(3, 2 ** 31 + 1, { seed: 1 }), /randInt: high must be at most 2\^31 \(the values are int32\), got 2147483649/],
      [() => ops.randInt(3, 5, { stream: 1 } as never), /randInt: options\.seed must be/],
    ];
    for (const [run, message] of cases) assert.throws(run, message);
    const disposed = Tensor.zeros([2]);
    disposed.dispose();
    assert.throws(() => ops.randnInto(disposed, { seed: 1 }), /randnInto: tensor was disposed/);
  });
});

test.run();
