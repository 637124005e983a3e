/**
 * Compares every runtime's outputs with the golden ones and explains each difference: the scenario and output,
 * which runtimes agree with the golden hash and which do not, and for each disagreeing group the first
 * differing element (index, both values as hex floats), how many elements differ and by how many ulp (the
 * element comparison is the shipped self-test's, bindings/verify/difference.js). Pure functions over plain data
 * (reports and the golden table), so they are unit-tested without runtimes.
 */
import { createHash } from 'node:crypto';
import { describeDifference } from '../../bindings/verify/difference.js';

export { describeDifference, formatValue, hexFloat } from '../../bindings/verify/difference.js';

/**
 * `golden`: { [scenario]: { [output]: { dtype, shape, sha256, base64 } } }.
 * `reports`: [{ runtime, report }] for the runtimes that ran (report.results as produced by bindings/verify/collect.js).
 * Returns { passed: [names], pending: [{ name, missing }], failures: [{ name, message, noGolden }] }, in
 * scenario order; `noGolden`: the only problem is a missing golden entry (the runtimes agree with each other).
 */
export function compareAll(golden, reports) {
  const names = [...new Set(reports.flatMap(({ report }) => report.results.map((r) => r.name)))];
  const passed = [], pending = [], failures = [];
  for (const name of names) {
    const outcome = compareScenario(name, golden[name], reports);
    if (outcome.pending) pending.push({ name, missing: outcome.pending });
    else if (outcome.problems.length === 0) passed.push(name);
    else failures.push({ name, noGolden: outcome.noGolden, message: `✗ ${name}\n${outcome.problems.map((p) => indent(p, 4)).join('\n')}` });
  }
  return { passed, pending, failures };
}

function compareScenario(name, goldenOutputs, reports) {
  const problems = [];
  const ran = [];
  const pendingIn = new Map();
  for (const { runtime, report } of reports) {
    const result = report.results.find((r) => r.name === name);
    if (!result) problems.push(`${runtime}: did not run this scenario`);
    else if (result.error) problems.push(`threw in ${runtime}: ${result.error}`);
    else if (result.pending) pendingIn.set(runtime, result.pending);
    else ran.push({ runtime, outputs: new Map(result.outputs.map((o) => [o.name, o])) });
  }
  if (pendingIn.size > 0) {
    const missing = [...new Set([...pendingIn.values()].flat())];
    // Pending is fine for an op still being written, not for one whose golden hashes were committed.
    if (goldenOutputs === undefined && ran.length === 0 && problems.length === 0) return { pending: missing, problems };
    problems.push(`the library lacks ${missing.join(', ')} in ${[...pendingIn.keys()].join(', ')}` +
      (goldenOutputs ? ' but golden hashes exist for this scenario' : ''));
  }
  const noGolden = goldenOutputs === undefined && ran.length > 0;
  if (noGolden) problems.push(NO_GOLDEN);
  const outputNames = [...new Set([...Object.keys(goldenOutputs ?? {}), ...ran.flatMap((r) => [...r.outputs.keys()])])];
  for (const output of outputNames) {
    const problem = compareOutput(output, goldenOutputs?.[output], ran);
    if (problem) problems.push(problem);
  }
  return { problems, noGolden: noGolden && problems.length === 1 };
}

/**
 * Where a runtime's self-test verdict (passed or not) differs from what its outputs say against `golden`: a bug in
 * the shipped comparison (bindings/verify/difference.js) or a golden table that dist/ does not carry yet.
 */
export function verdictDisagreements(golden, reports) {
  const messages = [];
  for (const { runtime, report } of reports) {
    for (const result of report.results) {
      const verdict = report.verdicts?.[result.name];
      const expected = golden[result.name];
      const matches = Boolean(expected && result.outputs && !result.error && !result.pending) &&
        Object.keys(expected).length === result.outputs.length &&
        result.outputs.every((o) => expected[o.name]?.sha256 === o.sha256 && expected[o.name].dtype === o.dtype &&
          expected[o.name].shape.join() === o.shape.join());
      if (verdict === undefined) messages.push(`✗ ${runtime}: its self-test gave no verdict for '${result.name}'`);
      else if ((verdict === 'passed') !== matches) {
        messages.push(`✗ ${runtime}: its self-test says '${result.name}' ${verdict}, but its outputs ${matches ? 'match' : 'do not match'} ` +
          'the golden table (is dist/ built from the current bindings/verify/golden.json?)');
      }
    }
  }
  return messages;
}

export const NO_GOLDEN = 'no golden hashes (a new or renamed scenario): run `npm run test:runtimes -- --update` and commit bindings/verify/golden.json';

/** Returns null when every runtime's output has the golden hash, dtype and shape, else the explanation. */
function compareOutput(output, golden, ran) {
  const groups = new Map();  // identity (hash, dtype, shape) -> { runtimes, entry }
  const absent = [];
  for (const { runtime, outputs } of ran) {
    const entry = outputs.get(output);
    if (!entry) { absent.push(runtime); continue; }
    const actual = sha256Of(entry.base64);
    if (actual !== entry.sha256) return `${output}: ${runtime} sent bytes whose SHA-256 is ${actual}, not the ${entry.sha256} it computed`;
    if (!groups.has(identity(entry))) groups.set(identity(entry), { runtimes: [], entry });
    groups.get(identity(entry)).runtimes.push(runtime);
  }
  const agreeing = golden ? groups.get(identity(golden)) : undefined;
  if (golden && absent.length === 0 && groups.size === (agreeing ? 1 : 0)) return null;
  if (!golden && groups.size <= 1 && absent.length === 0) return null;  // already reported: no golden hashes

  const first = ran.find((r) => r.outputs.has(output))?.outputs.get(output) ?? golden;
  const lines = [`${output} ${first.dtype} [${first.shape.join(', ')}]:`];
  // The reference is the golden output, or (new output) the largest group, Node's when tied.
  const reference = golden ?? [...groups.values()].sort((a, b) => b.runtimes.length - a.runtimes.length)[0].entry;
  const refLabel = golden ? 'golden' : 'the majority';
  if (golden) lines.push(`  golden ${short(golden.sha256)}${agreeing ? ` = ${agreeing.runtimes.join(', ')}` : ''}`);
  const stored = golden && sha256Of(golden.base64);
  if (golden && stored !== golden.sha256) {
    lines.push(`  golden.json is inconsistent: its stored values hash to ${short(stored)} (edited by hand?), so the element comparison below may show no difference`);
  }
  for (const { runtimes, entry } of groups.values()) {
    if (entry === agreeing?.entry) continue;
    const what = entry === reference ? '(the majority)' : describeDifference(entry, reference, refLabel);
    lines.push(`  ${runtimes.join(', ')}: ${short(entry.sha256)} ${what}`);
  }
  if (absent.length > 0) lines.push(`  ${absent.join(', ')}: no output '${output}'`);
  if (golden && groups.size === 0 && absent.length === 0) lines.push('  no runtime produced it (a stale golden entry: run --update)');
  return lines.join('\n');
}

const sha256Of = (base64) => createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
const identity = ({ sha256, dtype, shape }) => `${sha256} ${dtype} [${shape.join(', ')}]`;
const short = (sha) => `sha256 ${sha.slice(0, 12)}…`;
const indent = (text, n) => text.split('\n').map((line) => ' '.repeat(n) + line).join('\n');
