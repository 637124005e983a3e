/**
 * `ddpm verify`: the library's determinism self-test (`selfTest`, bindings/verify/) in this Node: the scenarios
 * (kernels forward and backward, random streams, training steps, samplers) against the golden outputs shipped in
 * the package. Prints each scenario's result as it finishes; a mismatch prints what differs (the first differing
 * element and both values) and makes the exit code 1.
 */
import { selfTest, type ScenarioResult, type SelfTestReport } from '../bindings/index.ts';

export interface VerifyFlags {
  /** Only the scenarios whose name contains this. */
  filter?: string;
  /** Print the report as JSON (one object) instead of lines. */
  json?: boolean;
}

/** Runs the self-test, printing as it goes; returns the exit code (0 when every scenario passed). */
export async function verify(flags: VerifyFlags): Promise<number> {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  if (!flags.json) write('ddpm verify: the determinism scenarios against the golden outputs shipped in ddpm-wasm');
  const report = await selfTest({
    filter: flags.filter ?? '',
    onScenario: flags.json ? undefined : (result) => write(resultLines(result).join('\n')),
  });
  if (flags.json) write(JSON.stringify(report, null, 2));
  else write(summary(report, flags.filter));
  if (report.total === 0) {
    process.stderr.write(`ddpm verify: --filter ${flags.filter}: no scenario's name contains it\n`);
    return 1;
  }
  return report.ok ? 0 : 1;
}

/** '  ✓ name (12 ms)', or '  ✗ name' and one indented line per problem. */
export function resultLines(result: ScenarioResult): string[] {
  const mark = result.status === 'passed' ? '✓' : result.status === 'pending' ? '-' : '✗';
  return [`  ${mark} ${result.name} (${result.ms.toFixed(0)} ms)`, ...(result.status === 'passed' ? [] : result.problems.map((p) => `      ${p}`))];
}

/** The last line: how many scenarios were bit-identical, in which engine, how long it took. */
export function summary(report: SelfTestReport, filter?: string): string {
  const which = filter ? ` whose name contains '${filter}'` : '';
  const verdict = report.ok
    ? `${report.passed} of ${report.total} scenarios${which} bit-identical to the golden outputs`
    : `${report.failed} of ${report.total} scenarios${which} differ from the golden outputs${report.pending ? `, ${report.pending} pending` : ''}`;
  return `${verdict} in ${report.engine}, ${(report.ms / 1000).toFixed(1)} s`;
}
