// `ddpm verify` (the determinism self-test from the command line) and the flag handling it shares with `ddpm bench`
// (cli/light.ts): each scenario's result, the summary, --json, a mismatch's exit code and first differing element
// (against a package copy whose golden table has one output changed), and one-line errors.
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ddpm, ensureBuilt, expectErrors, ROOT, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

test('ddpm verify prints every scenario it runs and a summary, and exits 0', async () => {
  const result = await ddpm(['verify', '--filter', 'randn 37 seed 42'], cwd);
  assert.is(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.match(lines[0], 'ddpm verify: the determinism scenarios against the golden outputs shipped in ddpm-wasm');
  assert.equal(lines.slice(1, -1).map((l) => l.replace(/ \(\d+ ms\)$/, '')), [
    '  ✓ randn 37 seed 42 offset 0 stream 0', '  ✓ randn 37 seed 42 offset 1 stream 0', '  ✓ randn 37 seed 42 offset 7 stream 0',
    '  ✓ randn 37 seed 42 offset 0 stream 3',
  ]);
  assert.match(lines.at(-1)!, /^4 of 4 scenarios whose name contains 'randn 37 seed 42' bit-identical to the golden outputs in Node \S+ \(V8 [^)]+\), \d+\.\d s$/);
});

test('ddpm verify --json prints the report', async () => {
  const result = await ddpm(['verify', '--json', '--filter', 'matmul 7x13x5'], cwd);
  assert.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal([report.ok, report.passed, report.total, report.scenarios[0].name], [true, 1, 1, 'matmul 7x13x5']);
});

test('a package whose golden output differs: exit 1, the scenario marked, its first differing element named', () => {
  // A copy of the package (dist/ and package.json; node_modules linked) with one golden float changed by one ulp.
  const copy = join(cwd, 'package-copy');
  cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const goldenPath = join(copy, 'dist/bindings/verify/golden.json');
  const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));
  const entry = golden.scenarios['randn 37 seed 42 offset 0 stream 0'].out;
  const bytes = Buffer.from(entry.base64, 'base64');
  bytes.writeUInt32LE(bytes.readUInt32LE(8) + 1, 8);
  entry.base64 = bytes.toString('base64');
  writeFileSync(goldenPath, JSON.stringify(golden));
  const result = spawnSync(process.execPath, [join(copy, 'dist/cli/main.js'), 'verify', '--filter', 'randn 37 seed 42 offset'], { cwd, encoding: 'utf8' });
  assert.is(result.status, 1);
  assert.match(result.stdout, /  ✗ randn 37 seed 42 offset 0 stream 0 \(\d+ ms\)\n      out: first difference at \[2\]: -?0x\S+ \(\S+, bits 0x[0-9a-f]{8}\) vs golden -?0x\S+ \(\S+, bits 0x[0-9a-f]{8}\); 1 of 37 elements differ, at most 1 ulp apart\n/);
  assert.match(result.stdout, /  ✓ randn 37 seed 42 offset 1 stream 0/);
  assert.match(result.stdout, /\n1 of 4 scenarios whose name contains 'randn 37 seed 42 offset' differ from the golden outputs in Node/);
});

test('bad flags of verify and bench: one line naming the flag and the options', async () => {
  await expectErrors(cwd, [
    [['verify', '--fitler', 'x'], "ddpm verify: unknown option '--fitler'", '(options: --filter, --json, --verbose, --help)'],
    [['verify', '--filter'], "ddpm verify: option '--filter <value>' argument missing"],
    [['verify', 'extra'], "ddpm verify: unexpected argument 'extra'"],
    [['verify', '--filter', 'no such scenario'], "ddpm verify: --filter no such scenario: no scenario's name contains it"],
    [['bench', '--out'], "ddpm bench: option '--out <value>' argument missing", '(options: --quick, --out, --verbose, --help)'],
  ]);
});

test('ddpm --help lists verify and bench; ddpm help verify shows its options', async () => {
  const [all, one] = await Promise.all([ddpm(['--help'], cwd), ddpm(['help', 'verify'], cwd)]);
  assert.match(all.stdout, /\n {2}verify +check that this runtime computes the golden/);
  assert.match(all.stdout, /\n {2}bench +benchmark the kernels/);
  assert.match(one.stdout, /^Usage: ddpm verify \[options\]\n/);
  assert.match(one.stdout, /--filter <text>/);
});

test.after(() => temp.remove());
test.run();
