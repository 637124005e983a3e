/**
 * What every runtime of the harness runs: the library's own self-test (`selfTest`, the shipped scenarios and
 * golden outputs, or another scenario module), keeping every output's bytes, packed as the report the harness
 * compares (compare.js) plus the self-test's own verdicts (which the harness checks against its comparison).
 * Plain JavaScript, web APIs only: Node, Deno, Bun, the browsers (page.js) and workerd (workerd.js) load it.
 */

/** Printed by entry-cli.js before its one line of JSON. */
export const RESULT_MARKER = '@@ddpm-wasm-runtimes@@';

/**
 * Runs the self-test with `lib` (the built main entry); `scenarios`: null for the shipped ones, a list, or the URL
 * of a module exporting `scenarios`. Returns { engine, results: [{ name, outputs?, pending?, error?, ms }], ms,
 * verdicts: { [name]: status } }, or { engine, error } when it could not run.
 */
export async function harnessReport(lib, { filter = '', scenarios = null } = {}) {
  let engine = 'unknown';
  try {
    const options = { filter, includeOutputs: true };
    if (scenarios) options.scenarios = typeof scenarios === 'string' ? (await import(scenarios)).scenarios : scenarios;
    const report = await lib.selfTest(options);
    engine = report.engine;
    const results = report.scenarios.map(({ name, status, outputs, missing, error, ms }) =>
      ({ name, ms, ...(outputs && { outputs }), ...(missing && { pending: missing }), ...(error !== undefined && status !== 'passed' && { error }) }));
    return { engine, results, ms: report.ms, verdicts: Object.fromEntries(report.scenarios.map((s) => [s.name, s.status])) };
  } catch (error) {
    return { engine, error: String(error?.stack ?? error) };
  }
}
