/**
 * `ddpm bench`: runs the project's benchmark (bench/main.ts: the kernel tables and the training step), passing
 * --quick through. The benchmark is built by its own issue; until it exists this says so and exits 1.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { fail } from './errors.ts';
import { addCommonOptions, packageRoot } from './options.ts';

export function benchCommand(): Command {
  const command = new Command('bench')
    .description('benchmark the kernels and the training step (GFLOP/s, % of the measured peak)')
    .option('--quick', 'fewer and shorter runs (a rough table in seconds)')
    .addHelpText('after', `
Examples:
  ddpm bench --quick
  ddpm bench > bench.txt`);
  return addCommonOptions(command).action(async (flags: { quick?: boolean }) => {
    process.exitCode = await bench(flags.quick ?? false);
  });
}

/** Runs the benchmark in a child process (it times itself, so nothing else should share its thread); returns its exit code. */
export async function bench(quick: boolean): Promise<number> {
  const root = packageRoot();
  const args = [...benchEntry(root), ...(quick ? ['--quick'] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

/** The node arguments that start the benchmark: its compiled form, or its TypeScript through tsx. */
function benchEntry(root: string): string[] {
  const compiled = join(root, 'dist', 'bench', 'main.js');
  if (existsSync(compiled)) return [compiled];
  const source = join(root, 'bench', 'main.ts');
  if (!existsSync(source)) fail('the benchmark is not built yet: bench/main.ts does not exist in this package');
  // --import resolves 'tsx' from the working folder, which is the package root (see bench()).
  if (!existsSync(join(root, 'node_modules', 'tsx'))) fail('the benchmark (bench/main.ts) needs tsx to run: run npm install in the ddpm-wasm folder');
  return ['--import', 'tsx', source];
}
