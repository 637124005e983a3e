/**
 * The flags the subcommands share and the parsers that validate flag values as commander reads them, so that a
 * bad value is refused before anything runs, in one line that names the flag ("option '--steps <n>' argument
 * '0' is invalid: expected an integer >= 1"). Also where the package's own files are (the shipped models).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { fileErrorReason } from '../bindings/io/files.ts';
import { fail } from './errors.ts';

/** An integer of at least `min` (and at most `max`): a flag's value. */
export function integerAtLeast(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const what = max < Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : `an integer >= ${min}`;
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected ${what}.`);
    return n;
  };
}

/** A finite number, optionally bounded: `positive` excludes 0, `min` is inclusive. */
export function numberIn({ min = -Infinity, max = Infinity, positive = false } = {}): (value: string) => number {
  const what = positive ? 'a positive number' : min > -Infinity ? `a number >= ${min}` : 'a number';
  return (value) => {
    const n = Number(value);
    const ok = value.trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!positive || n > 0);
    if (!ok) throw new InvalidArgumentError(`Expected ${what}${max < Infinity ? ` <= ${max}` : ''}.`);
    return n;
  };
}

/** A comma-separated list of positive integers, e.g. U-Net channels '32,64,64'. */
export function integerList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((s) => s === '') || numbers.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new InvalidArgumentError('Expected positive integers separated by commas, e.g. 32,64,64.');
  }
  return numbers;
}

/** Adds the options every subcommand has. */
export function addCommonOptions(command: Command): Command {
  return command.addOption(new Option('--verbose', 'print stack traces with errors'));
}

/**
 * Checks an output file: its extension is one of `extensions` and its folder exists or can be created (see
 * checkFolderCreatable). Returns the extension (lower case, with the dot).
 */
export function checkOutputFile(flag: string, path: string, extensions: readonly string[]): string {
  const extension = extname(path).toLowerCase();
  if (!extensions.includes(extension)) {
    fail(`${flag} ${path}: the file name must end in ${extensions.join(' or ')}`);
  }
  checkFolderCreatable(flag, path, dirname(resolve(path)));
  return extension;
}

/**
 * Fails unless `folder` (the folder of an output `path`) is a folder or can be made one: the nearest part of it
 * that exists must be a folder. Checked before a command's work; `makeFolder` creates it when the work starts.
 */
export function checkFolderCreatable(flag: string, path: string, folder: string): void {
  for (let part = resolve(folder); dirname(part) !== part; part = dirname(part)) {
    let info;
    try {
      info = statSync(part);
    } catch {
      continue; // missing (or under a file, which the walk up reaches)
    }
    if (info.isDirectory()) return;
    fail(`${flag} ${path}: ${shown(part)} is a file, not a folder`);
  }
}

/**
 * Creates `folder` (the folder of an output `path`) with its parents, as `mkdir -p`; fails in one line naming the
 * flag and the cause (a file in the way, permissions, a read-only disk).
 */
export function makeFolder(flag: string, path: string, folder: string): void {
  checkFolderCreatable(flag, path, folder);
  // One level at a time, from the nearest existing folder down: Node's recursive mkdir reports a read-only file
  // system or a permission problem as ENOENT, and the error should name the real cause.
  const missing: string[] = [];
  for (let part = resolve(folder); !existsSync(part); part = dirname(part)) missing.unshift(part);
  for (const part of missing) {
    try {
      mkdirSync(part);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(part).isDirectory()) continue; // made meanwhile
      fail(`${flag} ${path}: cannot create the folder ${shown(folder)}: ${fileErrorReason(error)}`);
    }
  }
}

/** The package's root folder (holding package.json and models/), from this file's place in cli/ or dist/cli/. */
export function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'ddpm-wasm') return folder;
    folder = dirname(folder);
  }
  throw new Error(`cannot find the ddpm-wasm package folder above ${fileURLToPath(import.meta.url)}`);
}

/** A path shown to the user: relative to the working folder when inside it. */
export function shown(path: string): string {
  const absolute = resolve(path);
  const cwd = process.cwd();
  return absolute.startsWith(cwd + '/') ? absolute.slice(cwd.length + 1) : absolute === cwd ? '.' : absolute;
}
