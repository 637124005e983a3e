/**
 * How the command fails: every error is one line on stderr, `ddpm <command>: <what went wrong>`, and a non-zero
 * exit code; the stack trace only with --verbose. Errors the user can fix (a bad flag, a missing file) are
 * `UsageError`s; anything else that escapes (a library check, a bug) is printed the same way, since the
 * library's messages already name the op, the argument and the values.
 */
import { CommanderError } from 'commander';

/** Exit codes: 1 for errors (a run stopped by a signal exits with 128 + its number: see interrupts.ts). */
export const EXIT = { error: 1 } as const;

/** An error in what the user asked for (flags, files, data), reported without a stack trace. */
export class UsageError extends Error {}

/** Throws a UsageError with `message`. */
export function fail(message: string): never {
  throw new UsageError(message);
}

/** The error as one line: newlines folded, so a message never spills over several lines. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** Prints `error` as one line on stderr, prefixed with `where` (e.g. 'ddpm train'); the stack too when verbose. */
export function reportError(where: string, error: unknown, verbose: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${where}: ${oneLine(message)}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
}

/**
 * Commander's own errors (unknown option, bad choice, missing argument) as one line: 'error: ' dropped, the
 * 'Did you mean' hint folded in, and the known options (or commands) when there is no such hint.
 */
export function commanderMessage(text: string, known: { options: readonly string[]; commands: readonly string[] }): string {
  let line = oneLine(text).replace(/^error:\s*/, '');
  if (!/did you mean/i.test(line)) {
    if (line.startsWith('unknown option') && known.options.length > 0) line += ` (options: ${known.options.join(', ')})`;
    if (line.startsWith('unknown command') && known.commands.length > 0) line += ` (commands: ${known.commands.join(', ')})`;
  }
  return line;
}

/** Whether `error` is commander asking to exit normally (after --help or --version). */
export function isCleanExit(error: unknown): boolean {
  return error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0);
}
