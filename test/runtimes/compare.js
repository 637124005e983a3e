/**
 * Compares every runtime's outputs with the golden ones and explains each difference: the scenario and output,
 * which runtimes agree with the golden hash and which do not, and for each disagreeing group the first
 * differing element (index, both values as hex floats), how many elements differ and by how many ulp.
 * Pure functions over plain data (reports and the golden table), so they are unit-tested without runtimes.
 */
import { createHash } from 'node:crypto';

/**
 * `golden`: { [scenario]: { [output]: { dtype, shape, sha256, base64 } } }.
 * `reports`: [{ runtime, report }] for the runtimes that ran (report.results as produced by collect.js).
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

export const NO_GOLDEN = 'no golden hashes (a new or renamed scenario): run `npm run test:runtimes -- --update` and commit test/runtimes/golden.json';

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

/** "first difference at [i] (index [a, b]): <value> vs golden <value>; n of N elements differ, at most k ulp". */
export function describeDifference(entry, reference, refLabel = 'golden') {
  if (entry.dtype !== reference.dtype) return `dtype ${entry.dtype}, ${refLabel} has ${reference.dtype}`;
  const a = typedArray(entry), b = typedArray(reference);
  if (a.length !== b.length || entry.shape.join() !== reference.shape.join()) {
    return `shape [${entry.shape.join(', ')}] (${a.length} elements), ${refLabel} has [${reference.shape.join(', ')}] (${b.length})`;
  }
  let firstAt = -1, count = 0, maxUlp = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i])) continue;
    if (firstAt < 0) firstAt = i;
    count++;
    maxUlp = Math.max(maxUlp, ulpDistance(entry.dtype, a[i], b[i]));
  }
  if (firstAt < 0) return '(same values, different bytes)';
  const index = entry.shape.length > 1 ? ` (index [${unravel(firstAt, entry.shape).join(', ')}])` : '';
  const ulp = entry.dtype === 'f32' || entry.dtype === 'f64' ? `, at most ${maxUlp} ulp apart` : '';
  return `first difference at [${firstAt}]${index}: ${formatValue(entry.dtype, a[firstAt])} vs ${refLabel} ` +
    `${formatValue(reference.dtype, b[firstAt])}; ${count} of ${a.length} elements differ${ulp}`;
}

const ARRAYS = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array };

function typedArray({ dtype, base64 }) {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new ARRAYS[dtype](copy.buffer);
}

function unravel(index, shape) {
  const out = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(index % shape[d]);
    index = Math.floor(index / shape[d]);
  }
  return out;
}

/** Distance in representable values (ulp) between two finite floats of the same type. */
function ulpDistance(dtype, x, y) {
  if (dtype !== 'f32' && dtype !== 'f64') return 0;
  const ordered = (v) => {
    const bits = dtype === 'f32' ? BigInt(new Uint32Array(new Float32Array([v]).buffer)[0]) : new BigUint64Array(new Float64Array([v]).buffer)[0];
    const signBit = dtype === 'f32' ? 1n << 31n : 1n << 63n;
    return bits & signBit ? -(bits ^ signBit) : bits;
  };
  const d = ordered(x) - ordered(y);
  return Number(d < 0n ? -d : d);
}

/** A value as a hex float, its decimal form and its bits, e.g. `0x1.921fb6p+1 (3.14159274, bits 0x40490fdb)`. */
export function formatValue(dtype, value) {
  if (dtype === 'f32') {
    const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
    return `${hexFloat(BigInt(bits), 8, 23, 6)} (${value.toPrecision(9).replace(/\.?0+(e|$)/, '$1')}, bits 0x${bits.toString(16).padStart(8, '0')})`;
  }
  if (dtype === 'f64') {
    const bits = new BigUint64Array(new Float64Array([value]).buffer)[0];
    return `${hexFloat(bits, 11, 52, 13)} (${value}, bits 0x${bits.toString(16).padStart(16, '0')})`;
  }
  const bits = dtype === 'u8' ? value : value >>> 0;
  return `${value} (0x${bits.toString(16).padStart(dtype === 'u8' ? 2 : 8, '0')})`;
}

/** C's %a: [-]0x1.<fraction>p<exponent>, [-]0x0.<fraction>p-<bias-1> for subnormals. */
export function hexFloat(bits, exponentBits, fractionBits, hexDigits) {
  const sign = bits >> BigInt(exponentBits + fractionBits) ? '-' : '';
  const exponentMax = (1n << BigInt(exponentBits)) - 1n;
  const exponent = (bits >> BigInt(fractionBits)) & exponentMax;
  const fraction = bits & ((1n << BigInt(fractionBits)) - 1n);
  const bias = Number(exponentMax >> 1n);
  if (exponent === exponentMax) return fraction ? 'nan' : `${sign}inf`;
  if (exponent === 0n && fraction === 0n) return `${sign}0x0p+0`;
  // Left-align the fraction on a hex-digit boundary (23 bits -> 24 = 6 digits, 52 bits = 13 digits).
  const digits = (fraction << BigInt(hexDigits * 4 - fractionBits)).toString(16).padStart(hexDigits, '0').replace(/0+$/, '');
  const lead = exponent === 0n ? '0' : '1';
  const power = exponent === 0n ? 1 - bias : Number(exponent) - bias;
  return `${sign}0x${lead}${digits ? `.${digits}` : ''}p${power >= 0 ? '+' : ''}${power}`;
}

const sha256Of = (base64) => createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
const identity = ({ sha256, dtype, shape }) => `${sha256} ${dtype} [${shape.join(', ')}]`;
const short = (sha) => `sha256 ${sha.slice(0, 12)}…`;
const indent = (text, n) => text.split('\n').map((line) => ' '.repeat(n) + line).join('\n');
