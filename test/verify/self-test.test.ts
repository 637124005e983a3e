// selfTest(): the shipped scenarios pass against the shipped golden outputs in Node, and a changed output fails
// with its first differing element named, both values shown; errors, missing ops and the filter are reported.
// (The same self-test runs in all seven runtimes on every `npm test`: test/runtimes.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, selfTest, type GoldenTable, type Scenario } from '../../bindings/index.ts';
import golden from '../../bindings/verify/golden.json' with { type: 'json' };

await init();
const TABLE = (golden as unknown as { scenarios: GoldenTable }).scenarios;

test('every shipped scenario passes in this runtime, and the report says so scenario by scenario', async () => {
  const seen: string[] = [];
  const report = await selfTest({ onScenario: (result, done, total) => seen.push(`${done}/${total} ${result.status}`) });
  assert.ok(report.ok, report.scenarios.filter((s) => s.status !== 'passed').map((s) => `${s.name}: ${s.problems.join('; ')}`).join('\n'));
  assert.is(report.total, Object.keys(TABLE).length, 'one result per golden scenario');
  assert.is(report.passed, report.total);
  assert.is(report.failed + report.pending, 0);
  assert.match(report.engine, /^Node \d+\.\d+\.\d+ \(V8 /);
  assert.equal(seen[0], `1/${report.total} passed`);
  assert.is(seen.length, report.total);
  assert.equal(report.scenarios.map((s) => s.name).sort(), Object.keys(TABLE).sort());
  assert.ok(report.scenarios.every((s) => s.outputs === undefined), 'outputs only when asked for');
});

test('a golden output one ulp away fails that scenario, naming the first differing element and both values', async () => {
  const name = 'randn 37 seed 42 offset 0 stream 0';
  const entry = TABLE[name].out;
  const bytes = Buffer.from(entry.base64, 'base64');
  const values = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  values[5] += 1;
  const edited: GoldenTable = { ...TABLE, [name]: { out: { ...entry, base64: bytes.toString('base64') } } };
  const report = await selfTest({ golden: edited, filter: 'randn 37 seed 42', includeOutputs: true });
  assert.not.ok(report.ok);
  assert.is(report.failed, 1);
  const failed = report.scenarios.find((s) => s.status === 'failed')!;
  assert.is(failed.name, name);
  assert.is(failed.problems.length, 1);
  assert.match(failed.problems[0], /^out: first difference at \[5\]: 0x[0-9a-f.]+p[-+]\d+ \(.*, bits 0x[0-9a-f]{8}\) vs golden 0x[0-9a-f.]+p[-+]\d+ .*; 1 of 37 elements differ, at most 1 ulp apart$/);
  assert.is(failed.outputs![0].sha256, entry.sha256, 'the runtime computed the real hash');
  assert.is(report.passed, report.total - 1, 'the other randn scenarios with seed 42 still pass');
});

test('a scenario that throws, one that needs a missing op, and one without golden outputs', async () => {
  const scenarios: Scenario[] = [
    { name: 'throws', run: () => { throw new RangeError('boom'); } },
    { name: 'pending', needs: ['noSuchOp'], run: () => new Float32Array(1) },
    { name: 'new', run: () => Float32Array.of(1, 2) },
  ];
  const report = await selfTest({ scenarios, golden: { throws: {} } });
  const by = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
  assert.is(by.throws.status, 'failed');
  assert.match(by.throws.problems[0], 'threw RangeError: boom');
  assert.match(by.throws.error!, 'RangeError: boom');
  assert.is(by.pending.status, 'pending');
  assert.equal(by.pending.missing, ['noSuchOp']);
  assert.is(by.new.status, 'failed');
  assert.match(by.new.problems[0], 'no golden outputs for this scenario');
  assert.equal([report.passed, report.failed, report.pending, report.ok], [0, 2, 1, false]);
});

test('an output missing from the golden table, or a golden output not produced, is named', async () => {
  const scenarios: Scenario[] = [{ name: 's', run: () => ({ a: Float32Array.of(1), b: Int32Array.of(2) }) }];
  const one = await selfTest({ scenarios });
  const { outputs } = (await selfTest({ scenarios, includeOutputs: true, golden: {} })).scenarios[0];
  const a = outputs!.find((o) => o.name === 'a')!;
  const report = await selfTest({ scenarios, golden: { s: { a, c: a } } });
  assert.is(one.failed, 1);
  assert.equal(report.scenarios[0].problems, ['c: missing (the golden table has it)', 'b: not in the golden table']);
});

test.run();
