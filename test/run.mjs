// The test command (`npm test`): runs the uvu suites under tsx, then the cross-runtime determinism harness (test/
// runtimes: the scenarios in Node, Deno, Bun, Chromium, Firefox, WebKit and workerd against golden hashes), then
// prints one plain summary line, `N passed, N failed`, summing both, which CI reads (it does not read uvu's own
// summary). Exits non-zero on any failure.
//
//   node test/run.mjs                 every suite and the harness
//   node test/run.mjs kernels         only test files whose path matches the pattern (the harness runs when
//                                     the pattern matches test/runtimes/harness, e.g. `runtimes`)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv[2] ?? '';
const pattern = `${filter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\.test\\.ts$`;

const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', pattern, '--no-color'], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' },
});
let output = '';
child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
const code = await new Promise((resolve) => child.on('close', resolve));

const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
let passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
let skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
// A crash before uvu's summary counts as one failure, so the line never reads "0 failed" for a broken run.
// uvu's Total counts the tests that ran (skipped ones are not in it).
let failed = total - passed + (code !== 0 && total === passed ? 1 : 0);

// The harness counts one test per scenario, plus one failure per runtime that broke (or is missing on CI).
if ('test/runtimes/harness'.includes(filter)) {
  console.log('');
  const { runHarness } = await import('./runtimes/harness.js');
  const harness = await runHarness();
  passed += harness.passed;
  failed += harness.failed;
  skipped += harness.skipped;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || code !== 0 ? 1 : 0);
