/**
 * `ddpm bench`: the benchmark (bench/main.ts, compiled into dist/bench/ and shipped): the kernels and the training
 * step, GFLOP/s and % of the SIMD128 peak measured in the same run, TF.js and PyTorch where installed. It runs in
 * a process of its own (it times itself, so nothing else should share its thread), with stdout and stderr passed
 * through: the Markdown report on stdout, progress on stderr.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchFlags {
  /** Fewer and shorter runs. */
  quick?: boolean;
  /** Also write the report to this file. */
  out?: string;
}

/** Runs the benchmark in a child process; returns its exit code. */
export async function bench(flags: BenchFlags): Promise<number> {
  const args = [...benchEntry(), ...(flags.quick ? ['--quick'] : []), ...(flags.out ? ['--out', flags.out] : [])];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

/** The node arguments that start the benchmark: the compiled form beside this file's (dist/cli -> dist/bench). */
function benchEntry(): string[] {
  const compiled = fileURLToPath(new URL('../bench/main.js', import.meta.url));
  if (existsSync(compiled)) return [compiled];
  // Run from the sources (cli/*.ts under tsx): the TypeScript, through tsx.
  return ['--import', 'tsx', fileURLToPath(new URL('../bench/main.ts', import.meta.url))];
}
