/**
 * The golden outputs (bindings/verify/golden.json, shipped in the package for the self-test): per scenario and
 * output, the dtype, shape, SHA-256 and bytes (base64; the bytes let a failure show the first differing element).
 * Written one output per line, sorted, so a diff names exactly the outputs that changed. Node only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const ABOUT = 'Golden outputs of the cross-runtime determinism harness (test/runtimes): every runtime must reproduce ' +
  'these SHA-256 hashes bit for bit. Regenerate from Node with `npm run test:runtimes -- --update`.';

/** Reads the golden table ({} when the file does not exist yet). */
export function readGolden(path) {
  if (!existsSync(path)) return {};
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${error.message}): restore it, or regenerate it with --update`);
  }
  if (typeof parsed.scenarios !== 'object') throw new Error(`${path}: no "scenarios" object (not a golden file?)`);
  return parsed.scenarios;
}

export function writeGolden(path, golden) {
  const scenarioLines = Object.keys(golden).sort().map((name) => {
    const outputs = Object.keys(golden[name]).sort().map((output) => {
      const { dtype, shape, sha256, base64 } = golden[name][output];
      return `      ${JSON.stringify(output)}: ${JSON.stringify({ dtype, shape, sha256, base64 })}`;
    });
    return `    ${JSON.stringify(name)}: {\n${outputs.join(',\n')}\n    }`;
  });
  writeFileSync(path, `{\n  "about": ${JSON.stringify(ABOUT)},\n  "scenarios": {\n${scenarioLines.join(',\n')}\n  }\n}\n`);
}

/**
 * The golden table updated from Node's report: scenarios that ran replace their entries; when `complete`
 * (no filter), entries of scenarios that no longer exist are dropped. Pending scenarios lose their entries;
 * scenarios that threw keep theirs. Returns { golden, changes }.
 */
export function updateGolden(old, nodeReport, complete) {
  const golden = complete ? {} : structuredClone(old);
  const changes = [];
  for (const result of nodeReport.results) {
    if (result.error) {
      if (old[result.name]) golden[result.name] = old[result.name];  // keep what we cannot replace
      continue;
    }
    if (result.pending) {
      delete golden[result.name];
      continue;
    }
    golden[result.name] = {};
    for (const { name, dtype, shape, sha256, base64 } of result.outputs) {
      golden[result.name][name] = { dtype, shape, sha256, base64 };
      const before = old[result.name]?.[name]?.sha256;
      if (before === undefined) changes.push(`added    ${result.name} › ${name}`);
      else if (before !== sha256) changes.push(`changed  ${result.name} › ${name} (${before.slice(0, 12)}… -> ${sha256.slice(0, 12)}…)`);
    }
  }
  for (const name of Object.keys(old)) {
    for (const output of Object.keys(old[name])) {
      if (golden[name]?.[output] === undefined) changes.push(`removed  ${name} › ${output}`);
    }
  }
  return { golden, changes };
}
