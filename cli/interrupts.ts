/**
 * Stopping a long run: Ctrl-C (SIGINT), SIGTERM (what service managers and containers send) and SIGHUP (the
 * terminal closed) all ask the run to stop after its current step; it then writes a checkpoint and exits with
 * 128 + the signal's number (130, 143, 129), as shells report a death by that signal. A second signal exits at
 * once, which is safe because every file is written atomically (the last checkpoint on disk stays whole).
 * After SIGHUP the terminal may be gone, so failed writes to it are ignored rather than fatal.
 *
 * `exitOnSignal` serves short commands instead: it cleans up (a half-written output) and exits at once.
 */

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

const SIGNAL_NUMBERS: Record<StopSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The exit code of a process stopped by `signal`: 128 + its number. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

export interface Interrupts {
  /** Whether a stop was asked for. */
  readonly requested: boolean;
  /** The signal that asked, or null. */
  readonly signal: StopSignal | null;
  /** Stops listening (restores the default: the signals end the process). */
  dispose(): void;
}

/** Starts listening for the stop signals; `say` prints the notices. */
export function watchInterrupts(say: (line: string) => void): Interrupts {
  let signal: StopSignal | null = null;
  const onSignal = (received: StopSignal) => {
    if (received === 'SIGHUP') ignoreClosedTerminal();
    if (signal !== null) {
      say(`${received} again: exiting without a checkpoint (the last one is intact)`);
      process.exit(signalExitCode(received));
    }
    signal = received;
    say(received === 'SIGINT' ? 'stopping after this step (Ctrl-C again to quit at once)...'
      : `received ${received}: stopping after this step (send it again to quit at once)...`);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return {
    get requested() { return signal !== null; },
    get signal() { return signal; },
    dispose: () => { for (const name of STOP_SIGNALS) process.off(name, onSignal); },
  };
}

/**
 * Until disposed, any stop signal runs `cleanup` (synchronous: the process exits right after) and exits with
 * 128 + the signal's number, after printing `message` through `say`.
 */
export function exitOnSignal(cleanup: () => void, say: (line: string) => void, message: string): () => void {
  const onSignal = (received: StopSignal) => {
    if (received === 'SIGHUP') ignoreClosedTerminal();
    cleanup();
    say(`${received}: ${message}`);
    process.exit(signalExitCode(received));
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return () => { for (const name of STOP_SIGNALS) process.off(name, onSignal); };
}

/** After a hang-up, writes to the vanished terminal fail (EIO, EPIPE): ignore them instead of crashing. */
function ignoreClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => {});
  }
}
