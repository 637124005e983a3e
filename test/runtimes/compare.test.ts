// The harness's verdicts and messages (compare.js), on hand-made reports: no runtime is started here.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: a plain-JavaScript module of the harness (it runs in browsers as is), untyped
import { compareAll, formatValue, hexFloat, verdictDisagreements } from './compare.js';

interface Entry { name: string; dtype: string; shape: number[]; sha256: string; base64: string }

function entry(name: string, values: Float32Array | Int32Array, shape = [values.length]): Entry {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { name, dtype: values instanceof Float32Array ? 'f32' : 'i32', shape, sha256: createHash('sha256').update(bytes).digest('hex'), base64: bytes.toString('base64') };
}

function report(results: object[]) {
  return { engine: 'test', results, ms: 0 };
}

const base = Float32Array.from([1, -2.5, 0.1, 3.1415927, 1e-3, 7]);
/** `base` with element 3 moved by one ulp: what a 1-ulp engine difference looks like. */
const nudged = (() => {
  const v = base.slice();
  new Uint32Array(v.buffer)[3] += 1;
  return v;
})();
const golden = { s: { y: entry('y', base, [2, 3]) } };
const ran = (runtime: string, values: Float32Array) => ({ runtime, report: report([{ name: 's', outputs: [entry('y', values, [2, 3])] }]) });

test('hexFloat / formatValue: C-style hex floats with decimal and bits', () => {
  assert.is(formatValue('f32', 1), '0x1p+0 (1, bits 0x3f800000)');
  assert.is(formatValue('f32', Math.fround(Math.PI)), '0x1.921fb6p+1 (3.14159274, bits 0x40490fdb)');
  assert.is(formatValue('f32', -0), '-0x0p+0 (0, bits 0x80000000)');
  assert.is(formatValue('f32', -0.75), '-0x1.8p-1 (-0.75, bits 0xbf400000)');
  assert.is(formatValue('f32', 2 ** -149).split(' ')[0], '0x0.000002p-126');
  assert.is(formatValue('f32', Infinity).split(' ')[0], 'inf');
  assert.is(hexFloat(new BigUint64Array(new Float64Array([0.1]).buffer)[0], 11, 52, 13), '0x1.999999999999ap-4');
  assert.is(formatValue('i32', -1), '-1 (0xffffffff)');
});

test('compareAll: every runtime equal to golden passes', () => {
  const out = compareAll(golden, ['node', 'deno', 'webkit'].map((r) => ran(r, base)));
  assert.equal(out.passed, ['s']);
  assert.equal(out.failures, []);
});

test('compareAll: one runtime off by one ulp names it, the agreeing ones, and the first differing element', () => {
  const out = compareAll(golden, [ran('node', base), ran('deno', base), ran('webkit', nudged)]);
  assert.equal(out.passed, []);
  assert.is(out.failures.length, 1);
  const message = out.failures[0].message;
  assert.match(message, '✗ s');
  assert.match(message, `golden sha256 ${golden.s.y.sha256.slice(0, 12)}… = node, deno`);
  assert.match(message, 'webkit: sha256');
  assert.match(message, 'first difference at [3] (index [1, 0]): 0x1.921fb8p+1 (3.14159298, bits 0x40490fdc) vs golden 0x1.921fb6p+1 (3.14159274, bits 0x40490fdb); 1 of 6 elements differ, at most 1 ulp apart');
});

test('compareAll: a changed kernel (all runtimes agree, golden differs) lists them all against golden', () => {
  const changed = base.slice();
  changed[0] = 1.5;
  changed[5] = 8;
  const out = compareAll(golden, ['node', 'bun'].map((r) => ran(r, changed)));
  const message = out.failures[0].message;
  assert.match(message, /golden sha256 [0-9a-f]{12}…\n/);
  assert.match(message, 'node, bun: sha256');
  assert.match(message, 'first difference at [0] (index [0, 0]): 0x1.8p+0 (1.5, bits 0x3fc00000) vs golden 0x1p+0 (1, bits 0x3f800000); 2 of 6 elements differ');
});

test('compareAll: a golden hash edited by hand (bytes unchanged) is called out', () => {
  const edited = { s: { y: { ...golden.s.y, sha256: '0'.repeat(64) } } };
  const message = compareAll(edited, [ran('node', base)]).failures[0].message;
  assert.match(message, 'golden.json is inconsistent: its stored values hash to');
  assert.match(message, 'node: sha256');
});

test('compareAll: no golden entry fails with the update hint; disagreement is shown against the majority', () => {
  const out = compareAll({}, [ran('node', base), ran('deno', base), ran('firefox', nudged)]);
  const message = out.failures[0].message;
  assert.match(message, 'no golden hashes');
  assert.match(message, '--update');
  assert.match(message, 'firefox: sha256');
  assert.match(message, 'vs the majority 0x1.921fb6p+1');
});

test('compareAll: shapes, dtypes and missing outputs are reported', () => {
  const wrongShape = { runtime: 'bun', report: report([{ name: 's', outputs: [entry('y', base, [3, 2])] }]) };
  assert.match(compareAll(golden, [wrongShape]).failures[0].message, 'shape [3, 2] (6 elements), golden has [2, 3] (6)');
  const wrongType = { runtime: 'bun', report: report([{ name: 's', outputs: [entry('y', new Int32Array(6), [2, 3])] }]) };
  assert.match(compareAll(golden, [wrongType]).failures[0].message, 'dtype i32, golden has f32');
  const renamed = { runtime: 'bun', report: report([{ name: 's', outputs: [entry('z', base, [2, 3])] }]) };
  assert.match(compareAll(golden, [renamed]).failures[0].message, "bun: no output 'y'");
});

test('compareAll: errors, pending ops and corrupted transfers', () => {
  const threw = { runtime: 'firefox', report: report([{ name: 's', error: 'Error: boom' }]) };
  assert.match(compareAll(golden, [ran('node', base), threw]).failures[0].message, 'threw in firefox: Error: boom');

  const pending = { runtime: 'node', report: report([{ name: 'p', pending: ['conv2d'] }]) };
  const out = compareAll({}, [pending]);
  assert.equal(out.pending, [{ name: 'p', missing: ['conv2d'] }]);
  assert.equal(out.failures, []);
  const lost = compareAll({ p: golden.s }, [pending]);
  assert.match(lost.failures[0].message, 'the library lacks conv2d in node but golden hashes exist');

  const corrupted = entry('y', base, [2, 3]);
  corrupted.base64 = entry('y', nudged).base64;
  const sent = { runtime: 'chromium', report: report([{ name: 's', outputs: [corrupted] }]) };
  assert.match(compareAll(golden, [sent]).failures[0].message, 'chromium sent bytes whose SHA-256 is');
});

test('verdictDisagreements: a runtime whose self-test verdict contradicts its outputs is named', () => {
  const judged = (runtime: string, values: Float32Array, verdict: string) => ({
    runtime, report: { ...report([{ name: 's', outputs: [entry('y', values, [2, 3])] }]), verdicts: { s: verdict } },
  });
  assert.equal(verdictDisagreements(golden, [judged('node', base, 'passed'), judged('deno', nudged, 'failed')]), []);
  const wrong = verdictDisagreements(golden, [judged('bun', nudged, 'passed'), judged('webkit', base, 'failed')]);
  assert.equal(wrong.length, 2);
  assert.match(wrong[0], "bun: its self-test says 's' passed, but its outputs do not match");
  assert.match(wrong[1], "webkit: its self-test says 's' failed, but its outputs match");
  const silent = { runtime: 'firefox', report: report([{ name: 's', outputs: [entry('y', base, [2, 3])] }]) };
  assert.match(verdictDisagreements(golden, [silent])[0], "firefox: its self-test gave no verdict for 's'");
});

test.run();
