/**
 * The self-test: the determinism scenarios (scenarios.js: kernels forward and backward, random streams, training
 * steps, samplers) run in this runtime, and each output is compared byte for byte with the golden output shipped
 * beside them (golden.json, the table the cross-runtime harness in test/runtimes checks seven runtimes against).
 * Loaded on first use by `selfTest()` (index.ts), which hands it the library's API: it imports nothing of the
 * library itself, so its chunk in a bundle holds only the scenarios and the 230 KB table.
 */
import golden from './golden.json' with { type: 'json' };
import { collect, type CollectedResult } from './collect.js';
import { outputProblems } from './difference.js';
import { engineName } from './engine.ts';
import { scenarios as SHIPPED_SCENARIOS } from './scenarios.js';
import type { GoldenTable, Scenario, ScenarioResult, SelfTestOptions, SelfTestReport } from './report.ts';

/** Runs the scenarios with `lib` (the library's main entry) and compares them with the golden outputs. */
export async function runSelfTest(lib: object, options: SelfTestOptions = {}): Promise<SelfTestReport> {
  const table = options.golden ?? (golden as { scenarios: GoldenTable }).scenarios;
  const scenarios: readonly Scenario[] = options.scenarios ?? SHIPPED_SCENARIOS;
  const selected = scenarios.filter((s) => s.name.includes(options.filter ?? ''));
  const results: ScenarioResult[] = [];
  const { ms } = await collect(lib, scenarios, {
    filter: options.filter ?? '',
    onResult: (collected: CollectedResult) => {
      const result = judge(collected, table[collected.name], options.includeOutputs ?? false);
      results.push(result);
      options.onScenario?.(result, results.length, selected.length);
    },
  });
  const count = (status: ScenarioResult['status']) => results.filter((r) => r.status === status).length;
  const failed = count('failed');
  return {
    ok: failed === 0 && results.length > 0, passed: count('passed'), failed, pending: count('pending'), total: results.length,
    engine: engineName(), ms, scenarios: results,
  };
}

/** One scenario's verdict: passed (every output byte-identical to golden), failed (with what differs) or pending. */
function judge(collected: CollectedResult, expected: GoldenTable[string] | undefined, includeOutputs: boolean): ScenarioResult {
  const base = { name: collected.name, ms: collected.ms ?? 0 };
  if (collected.pending) {
    // A scenario of an op still being written; once golden outputs exist, the library must have it.
    const missing = `the library has no ${collected.pending.join(', ')}`;
    return { ...base, missing: collected.pending, ...(expected
      ? { status: 'failed', problems: [`${missing}, but golden outputs exist`] } : { status: 'pending', problems: [missing] }) };
  }
  if (collected.error !== undefined) {
    return { ...base, status: 'failed', problems: [`threw ${collected.error.split('\n')[0]}`], error: collected.error };
  }
  const outputs = collected.outputs ?? [];
  const problems = expected ? outputProblems(expected, outputs) : ['no golden outputs for this scenario (a new one: run `npm run test:runtimes -- --update`)'];
  return { ...base, status: problems.length === 0 ? 'passed' : 'failed', problems, ...(includeOutputs && { outputs }) };
}
