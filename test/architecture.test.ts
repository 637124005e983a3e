// The library's shape (docs/architecture.md), checked by dependency-cruiser with the rules of
// .dependency-cruiser.cjs: no import cycle, and every import between the parts of bindings/ points down the layers;
// and the whole tree type-checks (tsconfig.check.json: tests, scripts and benchmarks too, which tsx runs unchecked).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Violation { from: string; to: string; rule: { name: string }; cycle?: { name: string }[] }

/** Runs depcruise on `paths` with the project's rules; returns how many modules it read and what it found. */
function cruise(...paths: string[]): { modules: number; violations: Violation[] } {
  const run = spawnSync(process.execPath, ['node_modules/dependency-cruiser/bin/dependency-cruise.mjs', ...paths, '--output-type', 'json'], {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20,
  });
  if (!run.stdout.startsWith('{')) throw new Error(`depcruise failed: ${run.stderr || run.stdout}`);
  const { summary } = JSON.parse(run.stdout);
  return { modules: summary.totalCruised, violations: summary.violations };
}

const describe = (v: Violation) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`;

test('bindings/ and cli/ have no import cycle, and every arrow points down the layers', () => {
  const { modules, violations } = cruise('bindings', 'cli');
  assert.ok(modules > 80, `only ${modules} modules were read: the TypeScript parser (swc) is not working`);
  assert.equal(violations.map(describe), []);
});

test('everything type-checks: the library, the command, the evaluation, the benchmark, the scripts and the tests', () => {
  const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.check.json'], { cwd: ROOT, encoding: 'utf8' });
  const errors = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.includes('error TS'));
  assert.equal(errors.slice(0, 10), [], `${errors.length} type errors`);
  assert.is(run.status, 0, run.stdout);
});

test('the check sees a cycle when there is one', () => {
  const { violations } = cruise('test/fixtures/import-cycle');
  assert.ok(violations.some((v) => v.rule.name === 'no-circular'), `no cycle reported: ${violations.map(describe).join('; ')}`);
});

test.run();
