/**
 * `npm run test:runtimes [-- options] [filter]`: the cross-runtime determinism harness from the command line.
 *
 *   --update              rewrite bindings/verify/golden.json from Node's results (prints what changed), then compare
 *   --runtimes=a,b        only these (node, deno, bun, chromium, firefox, webkit, workerd, arm64; default all eight)
 *   --scenarios=path      another scenario module, relative to the repo root (default: the shipped ones,
 *                        bindings/verify/scenarios.js)
 *   --golden=path         another golden file (default bindings/verify/golden.json, shipped in dist/)
 *   --jobs=N              runtimes run at a time (default 2)
 *   --timeout=S           seconds each runtime may take (default 60)
 *   --no-build            test dist/ as it is (with a warning) even when older than its sources;
 *                        by default a stale dist/ is rebuilt first (`npm run build`)
 *   filter                only the scenarios whose name contains it
 *
 * A runtime that is not installed fails the run when CI=true and is skipped otherwise. Exit code 1 on failure.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runHarness } from './harness.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    update: { type: 'boolean' }, runtimes: { type: 'string' }, scenarios: { type: 'string' }, golden: { type: 'string' },
    jobs: { type: 'string' }, timeout: { type: 'string' }, 'no-build': { type: 'boolean' },
  },
});

const summary = await runHarness({
  update: values.update ?? false,
  ...(values.runtimes && { runtimes: values.runtimes.split(',').map((s) => s.trim()).filter(Boolean) }),
  ...(values.scenarios && { scenarios: values.scenarios }),
  ...(values.golden && { golden: resolve(values.golden) }),
  ...(values.jobs && { jobs: Number(values.jobs) }),
  ...(values.timeout && { timeoutMs: Number(values.timeout) * 1000 }),
  build: !values['no-build'],
  filter: positionals.join(' '),
});
process.exit(summary.failed > 0 ? 1 : 0);
