/**
 * PyTorch's CPU noise (assembly/torch-random.ts, ops.torchRandn, ops.TorchGenerator) against Debian's PyTorch 1.13
 * (test/fixtures/torch-randn.json and .bin, made by scripts/fixtures/torch_randn.py) under both of ATen's CPU
 * kernels, and against float64 references (test/ref/torch-random.ts). Each comparison prints its agreement (the
 * fraction of bit-identical values, the largest difference) before asserting bit-exactness, which is what was
 * measured; the SIMD kernels are checked against their scalar twins bit for bit.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, memoryStats, Tensor, ops, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { MT19937Ref, torchRandnRef } from '../ref/torch-random.ts';

await init();

type Capability = 'avx2' | 'default';
interface Case { seed: string; shape: number[]; sha256: string; values?: string[]; array?: [number, number];
  sample?: { stride: number; values: string[] } }
interface CapabilityData {
  cases: Case[];
  sequence: { seed: string; sizes: number[]; values: string[] };
  long: { seed: string; n: number; chunk: number; sha256: string[] };
  smallCalls: { seed: string; calls: number; n: number; chunkCalls: number; sha256: string[] };
  sweeps: { chunk: number; radius: string[]; diagonal: string[] };
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-randn.json', import.meta.url), 'utf8')) as
  { torch: string; capabilities: Record<Capability, CapabilityData> };
const bin = readFileSync(new URL('../fixtures/torch-randn.bin', import.meta.url));
const binValues = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
const CAPABILITIES: Capability[] = ['avx2', 'default'];
const CAPABILITY_ID: Record<Capability, number> = { avx2: 0, default: 1 };

const seedOf = (text: string): number | bigint => (Number.isSafeInteger(Number(text)) ? Number(text) : BigInt(text));
const sha256 = (values: Float32Array): string =>
  createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
const bitsOf = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

/** The fraction of bit-identical values and the largest |difference|, for the report and the assertion. */
function agreement(ours: Float32Array, expected: Float32Array) {
  const a = bitsOf(ours), b = bitsOf(expected);
  let same = 0, largest = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) same++;
    else largest = Math.max(largest, Math.abs(ours[i] - expected[i]));
  }
  return { same, total: a.length, largest };
}

function assertBitExact(ours: Float32Array, expected: Float32Array, label: string) {
  const { same, total, largest } = agreement(ours, expected);
  assert.ok(same === total, `${label}: ${same} of ${total} bit-identical, largest difference ${largest}`);
  return same;
}

/** A generator state in WebAssembly memory, seeded, inside the current tidy. */
function seededState(seed: number): Tensor {
  const state = new Tensor([Math.ceil(wasm().torchGeneratorBytes() / 4)]);
  wasm().torchGeneratorSeed(state.ptr, seed >>> 0);
  return state;
}

// ---------------------------------------------------------------------------------------------------------
// The engine

test('MT19937: the 10,000th output for seed 5489 is 4123659995 (C++ std::mt19937), SIMD and scalar', () => {
  tidy(() => {
    for (const name of ['torchRandomBits', 'torchRandomBitsScalar'] as const) {
      const state = seededState(5489), out = new Tensor([10000]);
      wasm()[name](out.ptr, 10000, state.ptr);
      assert.is(new Uint32Array(wasm().memory.buffer, out.ptr, 10000)[9999], 4123659995, name);
    }
  });
});

test('MT19937: words in uneven takes across several twists = scalar twin = mt19937ar reference', () => {
  tidy(() => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const ref = new MT19937Ref(seed), expected = Array.from({ length: 3000 }, () => ref.next());
      for (const name of ['torchRandomBits', 'torchRandomBitsScalar'] as const) {
        const state = seededState(seed), out = new Tensor([3000]);
        let at = 0;
        for (const take of [1, 3, 620, 5, 624, 1000, 747]) {
          wasm()[name](out.ptr + at * 4, take, state.ptr);
          at += take;
        }
        assert.equal(Array.from(new Uint32Array(wasm().memory.buffer, out.ptr, 3000)), expected, `${name} seed ${seed}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// torch.randn against PyTorch

for (const capability of CAPABILITIES) {
  const data = fixture.capabilities[capability];

  test(`torchRandn = PyTorch ${fixture.torch} (${capability} kernel): ${data.cases.length} seeds x shapes`, () => {
    let same = 0, total = 0, exactHashes = 0;
    for (const c of data.cases) {
      const ours = tidy(() => ops.torchRandn(c.shape, { seed: seedOf(c.seed), capability }).toFloat32Array());
      const label = `seed ${c.seed} shape [${c.shape.join(', ')}]`;
      if (c.values) same += assertBitExact(ours, Float32Array.from(c.values, Number), label);
      else if (c.array) same += assertBitExact(ours, binValues.subarray(c.array[0], c.array[0] + c.array[1]), label);
      else if (c.sample) {
        const picked = Float32Array.from(c.sample.values, (_, i) => ours[Math.min(i * c.sample!.stride, ours.length - 1)]);
        same += assertBitExact(picked, Float32Array.from(c.sample.values, Number), `${label} (sample)`);
      }
      total += c.values?.length ?? c.array?.[1] ?? c.sample!.values.length;
      assert.is(sha256(ours), c.sha256, `${label}: SHA-256 of all ${ours.length} values`);
      exactHashes++;
    }
    console.log(`  torchRandn ${capability}: ${same} of ${total} stored values bit-identical, ` +
      `${exactHashes} of ${data.cases.length} outputs identical by SHA-256`);
  });

  test(`TorchGenerator: successive draws of sizes ${data.sequence.sizes.join(', ')} = PyTorch (${capability})`, () => {
    const generator = new ops.TorchGenerator(seedOf(data.sequence.seed), { capability });
    const ours = tidy(() => {
      const parts = data.sequence.sizes.map((n) => generator.randn([n]).toFloat32Array());
      const joined = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) { joined.set(p, at); at += p.length; }
      return joined;
    });
    assertBitExact(ours, Float32Array.from(data.sequence.values, Number), 'sequence');
  });

  test(`2^20 values in one call, and 65,536 calls of 15 (the float64 path) = PyTorch by chunk hashes (${capability})`, () => {
    const long = tidy(() => ops.torchRandn([data.long.n], { seed: seedOf(data.long.seed), capability }).toFloat32Array());
    const longHashes = data.long.sha256.map((_, i) => sha256(long.subarray(i * data.long.chunk, (i + 1) * data.long.chunk)));
    const generator = new ops.TorchGenerator(seedOf(data.smallCalls.seed), { capability });
    const { calls, n, chunkCalls } = data.smallCalls;
    const small = new Float32Array(calls * n);
    tidy(() => {
      const out = new Tensor([n]);
      for (let call = 0; call < calls; call++) small.set(generator.randnInto(out).view(), call * n);
    });
    const smallHashes = data.smallCalls.sha256.map((_, i) => sha256(small.subarray(i * chunkCalls * n, (i + 1) * chunkCalls * n)));
    const match = (a: string[], b: string[]) => a.filter((h, i) => h === b[i]).length;
    console.log(`  ${capability}: 2^20 in one call: ${match(longHashes, data.long.sha256)} of ${longHashes.length} chunks ` +
      `identical; 15 per call: ${match(smallHashes, data.smallCalls.sha256)} of ${smallHashes.length}`);
    assert.equal(longHashes, data.long.sha256);
    assert.equal(smallHashes, data.smallCalls.sha256);
  });

  test(`Box-Muller block on every one of its 2^24 inputs = PyTorch, radius and diagonal sweeps (${capability})`, () => {
    const chunk = data.sweeps.chunk, blocks = chunk / 8;
    for (const kind of ['radius', 'diagonal'] as const) {
      const hashes = tidy(() => {
        const buffer = new Tensor([blocks * 16]);
        const result: string[] = [];
        for (let start = 0; start < 2 ** 24; start += chunk) {
          const view = buffer.view();
          for (let b = 0; b < blocks; b++) {
            for (let j = 0; j < 8; j++) {
              const u = (start + b * 8 + j) / 2 ** 24;
              view[b * 16 + j] = u;
              view[b * 16 + 8 + j] = kind === 'diagonal' ? u : 0;
            }
          }
          wasm().torchBoxMuller16(buffer.ptr, blocks, CAPABILITY_ID[capability]);
          result.push(sha256(buffer.view()));
        }
        return result;
      });
      const matching = hashes.filter((h, i) => h === data.sweeps[kind][i]).length;
      console.log(`  ${capability} ${kind} sweep: ${matching} of ${hashes.length} chunks of ${chunk} inputs identical`);
      assert.equal(hashes, data.sweeps[kind], `${kind} sweep`);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// SIMD = scalar twin; accuracy against float64

test('torchRandnFill (SIMD) = torchRandnFillScalar, bit for bit, sizes 0 .. 1300 and 5000, both kernels', () => {
  tidy(() => {
    const sizes = [...Array.from({ length: 80 }, (_, i) => i), 623, 624, 625, 640, 1247, 1248, 1249, 1300, 5000];
    for (const capability of [0, 1]) {
      for (const n of sizes) {
        const a = new Tensor([Math.max(n, 1)]), b = new Tensor([Math.max(n, 1)]);
        const sa = seededState(n * 7 + capability), sb = seededState(n * 7 + capability);
        // two draws each, so the second starts mid-state (and, for n < 16, sometimes from the cached normal)
        for (let draw = 0; draw < 2; draw++) {
          wasm().torchRandnFill(a.ptr, n, sa.ptr, capability);
          wasm().torchRandnFillScalar(b.ptr, n, sb.ptr, capability);
          assert.equal(Array.from(bitsOf(a.view()).subarray(0, n)), Array.from(bitsOf(b.view()).subarray(0, n)),
            `capability ${capability} n ${n} draw ${draw}`);
        }
        assert.equal(Array.from(new Uint32Array(wasm().memory.buffer, sa.ptr, 630)),
          Array.from(new Uint32Array(wasm().memory.buffer, sb.ptr, 630)), `state after n ${n}`);
      }
    }
  });
});

test('torchBoxMuller16 (SIMD) = scalar twin on 2^16 blocks of mixed uniforms, both kernels', () => {
  tidy(() => {
    const blocks = 2 ** 16, a = new Tensor([blocks * 16]), b = new Tensor([blocks * 16]);
    const view = a.view();
    for (let i = 0; i < view.length; i++) view[i] = ((Math.imul(i, 0x9e3779b1) >>> 8) & 0xffffff) / 2 ** 24;
    for (const capability of [0, 1]) {
      b.view().set(a.view());
      const input = a.toFloat32Array();
      wasm().torchBoxMuller16(a.ptr, blocks, capability);
      wasm().torchBoxMuller16Scalar(b.ptr, blocks, capability);
      const { same, total } = agreement(a.view(), b.view());
      assert.is(same, total, `capability ${capability}: ${same} of ${total} identical`);
      a.view().set(input);
    }
  });
});

test('torchRandn is within float32 rounding of float64 Box-Muller on the same uniforms', () => {
  // PyTorch's θ is a float32 (2π rounded to float32, times u, rounded): off by up to 4.1e-7, which moves
  // r·cos θ by up to r·4.1e-7 <= 2.4e-6 (r <= sqrt(-2 ln 2^-24) = 5.77); the rest is a few roundings of the result.
  for (const capability of CAPABILITIES) {
    for (const [seed, n] of [[0, 5], [3, 15], [11, 4099], [12345, 20000]]) {
      const ours = tidy(() => ops.torchRandn([n], { seed, capability }).toFloat32Array());
      const ref = torchRandnRef(seed, n);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]) - 8 * 2 ** -24 * Math.abs(ref[i]));
      assert.ok(worst <= 2.5e-6, `${capability} seed ${seed} n ${n}: error beyond 8 ulps ${worst}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// Seeds, state, arguments, memory

test('seeds: only the low 32 bits count, negative seeds wrap as in PyTorch; manualSeed restarts; state is per generator', () => {
  tidy(() => {
    const draw = (seed: number | bigint) => ops.torchRandn([40], { seed }).toFloat32Array();
    assert.equal(draw(5), draw(2 ** 32 + 5));
    assert.equal(draw(5), draw(2n ** 40n * 3n + 5n));
    assert.equal(draw(-1), draw(2n ** 64n - 1n));
    assert.equal(draw(-1), draw(2 ** 32 - 1));
    assert.equal(draw(-(2 ** 53) + 1), draw(2n ** 64n - 2n ** 53n + 1n));
    const g = new ops.TorchGenerator(9), h = new ops.TorchGenerator(9);
    const first = g.randn([3]).toFloat32Array();
    g.randn([100]);
    assert.not.equal(g.randn([3]).toFloat32Array(), first);
    assert.equal(g.manualSeed(9).randn([3]).toFloat32Array(), first);
    assert.equal(h.randn([3]).toFloat32Array(), first, 'another generator is not advanced');
  });
});

test('argument errors name the op, the argument, the value and what is allowed; nothing leaks', () => {
  const before = memoryStats().liveBytes;
  const cases: [() => unknown, RegExp][] = [
    [() => ops.torchRandn([2], { seed: 1.5 }), /^torchRandn: seed must be a safe integer or a bigint in \[-2\^63, 2\^64\), got 1\.5$/],
    [() => ops.torchRandn([2], { seed: 2 ** 53 }), /^torchRandn: seed must be a safe integer .* got 9007199254740992$/],
    [() => ops.torchRandn([2], { seed: 2n ** 64n }), /^torchRandn: seed must be an integer in \[-2\^63, 2\^64\) .* got 18446744073709551616n$/],
    [() => ops.torchRandn([2], { seed: -(2n ** 63n) - 1n }), /^torchRandn: seed must be an integer in \[-2\^63, 2\^64\)/],
    [() => ops.torchRandn([2], { seed: '3' as unknown as number }), /^torchRandn: seed must be .* got '3'$/],
    [() => ops.torchRandn([2], {} as { seed: number }), /^torchRandn: seed must be .* got undefined$/],
    [() => ops.torchRandn([2], { seed: 1, capability: 'avx512' as 'avx2' }), /^torchRandn: capability must be one of 'avx2', 'default', got 'avx512'$/],
    [() => ops.torchRandn([2], { seed: 1, offset: 3 } as { seed: number }), /^torchRandn: unknown option 'offset' \(allowed: seed, capability\)$/],
    [() => ops.torchRandn([2], null as unknown as { seed: number }), /^torchRandn: options must be an object \{ seed, capability\? \}, got null$/],
    [() => ops.torchRandn([2, -1], { seed: 1 }), /torchRandn/],
    [() => new ops.TorchGenerator(1, { capability: 'neon' as 'avx2' }), /^TorchGenerator: capability must be one of 'avx2', 'default', got 'neon'$/],
    [() => new ops.TorchGenerator(0.5), /^TorchGenerator: seed must be a safe integer/],
    [() => new ops.TorchGenerator(1).manualSeed(NaN), /^TorchGenerator\.manualSeed: seed must be a safe integer .* got NaN$/],
    [() => new ops.TorchGenerator(1).randn([1.5]), /TorchGenerator\.randn/],
    [() => { const t = Tensor.zeros([4]); t.dispose(); return new ops.TorchGenerator(1).randnInto(t); }, /^TorchGenerator\.randnInto: tensor was disposed$/],
  ];
  for (const [run, message] of cases) assert.throws(run, message);
  assert.is(memoryStats().liveBytes, before, 'no storage left behind by failed calls');
  const t = ops.torchRandn([4, 3, 64, 64], { seed: 1 });
  t.dispose();
  new ops.TorchGenerator(2).randn([7]).dispose();
  assert.is(memoryStats().liveBytes, before, 'generators hold no WebAssembly memory');
});

test.run();
