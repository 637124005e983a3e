/**
 * assembly/softmax.ts: the four-row softmax (`softmaxRows`, through the test build's `softmaxRowsFour`) gives the
 * one-row softmax's bits (`softmaxRowsEach`) for every T mod 4 and every rows mod 4, with -Inf logits, terms flushed
 * under e^-69 and rows of very different maxima side by side. Both give the bits of softmaxRow's sequence of float32
 * operations replayed here with `vectorExp` (the clamped `expf32x4`, which the kernels skip the clamp of), and
 * agree with a float64 softmax.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededFloats } from '../helpers.ts';
import { hooks, onHeap } from './test-hooks.ts';

const FLUSH_BELOW = -69;

/** The logits of `rows` rows of T: seeded values in ±3, with some rows shifted by up to ±200, some logits far below
 * their row's max (flushed terms) or -Inf. */
function logits(rows: number, T: number, seed: number): Float32Array {
  const x = seededFloats(rows * T, seed).map((v) => 3 * v), pick = seededFloats(rows * T, seed + 1);
  for (let i = 0; i < rows; i++) {
    const shift = i % 3 === 1 ? 200 * pick[i * T] : 0;
    for (let j = 0; j < T; j++) {
      const k = i * T + j;
      x[k] += shift;
      if (j > 0 && pick[k] > 0.7) x[k] -= 400; // far below the max: its term is flushed to 0
      else if (j > 0 && pick[k] < -0.8) x[k] = -Infinity;
    }
  }
  return x;
}

/** softmaxRow's float32 operations in softmaxRow's order (vector lanes, then the tail), e^z from `vectorExp`. */
function softmaxRowReplayed(x: Float32Array, rows: number, T: number, scale: number): Uint32Array {
  const f = Math.fround, T4 = T & ~3, maxes = new Float32Array(rows), z = new Float32Array(rows * T);
  for (let i = 0; i < rows; i++) {
    const lanes = [-Infinity, -Infinity, -Infinity, -Infinity];
    for (let j = 0; j < T4; j++) lanes[j % 4] = lanes[j % 4] < x[i * T + j] ? x[i * T + j] : lanes[j % 4]; // pmax
    let max = Math.max(Math.max(lanes[0], lanes[1]), Math.max(lanes[2], lanes[3]));
    for (let j = T4; j < T; j++) max = Math.max(max, x[i * T + j]);
    maxes[i] = max;
    for (let j = 0; j < T; j++) z[i * T + j] = f(f(x[i * T + j] - max) * scale);
  }
  const exps = new Float32Array(onHeap(rows * T, (y, at) => hooks.vectorExp(y, at, rows * T), z).buffer);
  const p = new Float32Array(rows * T);
  for (let i = 0; i < rows; i++) {
    const e = (j: number) => (z[i * T + j] < FLUSH_BELOW ? 0 : exps[i * T + j]), lanes = [0, 0, 0, 0];
    for (let j = 0; j < T4; j++) lanes[j % 4] = f(lanes[j % 4] + e(j));
    let sum = f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3]));
    for (let j = T4; j < T; j++) sum = f(sum + e(j));
    const inv = f(1 / sum);
    for (let j = 0; j < T; j++) p[i * T + j] = f(e(j) * inv);
  }
  return new Uint32Array(p.buffer);
}

/** Runs a softmax hook on the rows in place; returns the result's bits. */
function run(name: 'softmaxRowsFour' | 'softmaxRowsEach', x: Float32Array, rows: number, T: number, scale: number): Uint32Array {
  return onHeap(rows * T, (out) => {
    new Float32Array(hooks.memory.buffer, out, rows * T).set(x);
    hooks[name](out, rows, T, scale);
  });
}

for (const T of [1, 2, 3, 4, 5, 6, 7, 8, 9, 49]) {
  for (const rows of [4, 7, T]) {
    test(`softmaxRows T ${T}, ${rows} rows: softmaxRow's bits, and a float64 softmax's values`, () => {
      for (const scale of [0.25, 1]) {
        const x = logits(rows, T, 100 * T + rows), four = run('softmaxRowsFour', x, rows, T, scale);
        const each = run('softmaxRowsEach', x, rows, T, scale), replayed = softmaxRowReplayed(x, rows, T, scale);
        for (const [name, bits] of [['softmaxRowsEach', each], ['the replayed operations', replayed]] as const) {
          const first = four.findIndex((b, i) => b !== bits[i]);
          assert.is(first, -1, `scale ${scale}: element ${first} differs from ${name}: ${four[first]} vs ${bits[first]} (bits)`);
        }
        const p = new Float32Array(four.buffer);
        let flushed = 0;
        for (let i = 0; i < rows; i++) {
          const row = Array.from(x.subarray(i * T, (i + 1) * T)), max = Math.max(...row);
          const terms = row.map((s) => ((s - max) * scale < FLUSH_BELOW ? 0 : Math.exp((s - max) * scale)));
          const sum = terms.reduce((a, b) => a + b, 0);
          for (let j = 0; j < T; j++) {
            const want = terms[j] / sum;
            if (want === 0 && row[j] !== -Infinity) flushed++;
            assert.ok(Math.abs(p[i * T + j] - want) <= 4e-6 * want + 1e-7, `row ${i}, column ${j}: ${p[i * T + j]} vs ${want}`);
          }
        }
        if (T >= 5) assert.ok(flushed > 0, 'some terms are flushed');
      }
    });
  }
}

test('softmaxRows: a +Inf logit makes its row NaN in both forms, and leaves the other rows alone', () => {
  const T = 5, rows = 4, x = logits(rows, T, 7);
  x[2 * T + 3] = Infinity;
  const four = new Float32Array(run('softmaxRowsFour', x, rows, T, 0.25).buffer);
  const each = new Float32Array(run('softmaxRowsEach', x, rows, T, 0.25).buffer);
  for (let k = 0; k < rows * T; k++) {
    const nan = k >= 2 * T && k < 3 * T;
    assert.is(Number.isNaN(four[k]), nan, `element ${k} of softmaxRowsFour`);
    assert.is(Number.isNaN(each[k]), nan, `element ${k} of softmaxRowsEach`);
    if (!nan) assert.is(four[k], each[k], `element ${k}`);
  }
});

test.run();
