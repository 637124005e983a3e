/**
 * Running the real `ddpm` command in tests: `node dist/cli/main.js ...` in a temporary folder.
 *
 * dist/ is what users run, so the tests run it too. `npm test` builds first; when a test file is run on its own
 * and dist/cli/main.js is missing or older than any source file under cli/ or bindings/, `ensureBuilt` rebuilds
 * it with `npm run build:ts` (tsc) once, before the first command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

/** The newest modification time of the .ts files under `folder`. */
function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Rebuilds dist/ (tsc) when dist/cli/main.js is missing or older than the sources. */
export function ensureBuilt(): void {
  const built = (() => { try { return statSync(MAIN).mtimeMs; } catch { return 0; } })();
  const sources = Math.max(newestSource(join(ROOT, 'cli')), newestSource(join(ROOT, 'bindings')));
  if (built >= sources) return;
  // tsc emits even when some file has a type error, so a helper's half-finished edit elsewhere does not stop the CLI tests.
  spawnSync('npm', ['run', 'build:ts', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  if (!statSync(MAIN, { throwIfNoEntry: false })) throw new Error(`ensureBuilt: npm run build:ts did not produce ${MAIN}`);
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `ddpm ...args` in `cwd` (stdout and stderr collected into the returned object as they come). */
export function start(args: string[], cwd: string): { child: ChildProcess; output: Result; done: Promise<Result> } {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  const output: Result = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => { output.stdout += chunk; });
  child.stderr!.on('data', (chunk) => { output.stderr += chunk; });
  const done = new Promise<Result>((resolve) => child.on('close', (code, signal) => resolve(Object.assign(output, { code, signal }))));
  return { child, output, done };
}

/** Runs `ddpm ...args` in `cwd` to the end. */
export function ddpm(args: string[], cwd: string): Promise<Result> {
  return start(args, cwd).done;
}

/** Resolves once `predicate(output)` holds (polling), or rejects after `seconds`. */
export async function waitFor(output: Result, predicate: (o: Result) => boolean, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!predicate(output)) {
    if (Date.now() > deadline) throw new Error(`waitFor: timed out; stdout: ${output.stdout} stderr: ${output.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fresh temporary folder, and a function that removes it. */
export function tempFolder(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'ddpm-cli-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Asserts the shape of a failure: a non-zero exit and exactly one line on stderr (no stack trace) that
 * contains every one of `parts`. Returns the line.
 */
export function oneLineError(result: Result, ...parts: string[]): string {
  const lines = result.stderr.trim().split('\n');
  const context = `exit ${result.code}, stderr: ${result.stderr}`;
  if (result.code === 0 || result.code === null) throw new Error(`expected a failure, got ${context}`);
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}: ${result.stderr}`);
  for (const part of parts) if (!lines[0].includes(part)) throw new Error(`expected '${part}' in the error: ${lines[0]}`);
  return lines[0];
}

/** Runs several failing commands at once (they are independent) and checks each with `oneLineError`. */
export async function expectErrors(cwd: string, cases: readonly [args: string[], ...parts: string[]][]): Promise<void> {
  const results = await Promise.all(cases.map(([args]) => ddpm(args, cwd)));
  results.forEach((result, i) => {
    const [args, ...parts] = cases[i];
    try {
      oneLineError(result, ...parts);
    } catch (error) {
      throw new Error(`ddpm ${args.join(' ')}: ${(error as Error).message}`);
    }
  });
}
