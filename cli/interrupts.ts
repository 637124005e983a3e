/**
 * Ctrl-C during a long run: the first SIGINT asks the run to stop after its current step (it then writes a
 * checkpoint and exits with code 130); a second one exits at once, which is safe because every file is written
 * atomically (the last checkpoint on disk stays whole).
 */
import { EXIT } from './errors.ts';

export interface Interrupts {
  /** Whether Ctrl-C was pressed. */
  readonly requested: boolean;
  /** Stops listening (restores the default: SIGINT ends the process). */
  dispose(): void;
}

/** Starts listening for SIGINT; `say` prints the notices. */
export function watchInterrupts(say: (line: string) => void): Interrupts {
  let requested = false;
  const onSignal = () => {
    if (requested) {
      say('interrupted again: exiting without a checkpoint (the last one is intact)');
      process.exit(EXIT.interrupted);
    }
    requested = true;
    say('stopping after this step (Ctrl-C again to quit at once)...');
  };
  process.on('SIGINT', onSignal);
  return {
    get requested() { return requested; },
    dispose: () => { process.off('SIGINT', onSignal); },
  };
}
