/**
 * A trainer's state (optimizer moments, the EMA, gradient scratch) built all or nothing: each part allocates
 * WebAssembly memory, and when one fails the parts made before it are freed, so a trainer that cannot be built
 * leaves nothing behind. An out-of-memory error then says what was being built and what to lower.
 */
import { OutOfMemoryError } from '../tensor.ts';

interface Disposable { dispose(): void }

/** Runs `make`, which builds its parts through `track`; on failure disposes the tracked parts and rethrows. */
export function buildAllOrNothing<T>(what: string, hint: string, make: (track: <D extends Disposable>(part: D) => D) => T): T {
  const made: Disposable[] = [];
  try {
    return make((part) => { made.push(part); return part; });
  } catch (error) {
    for (const part of made) part.dispose();
    if (!(error instanceof OutOfMemoryError)) throw error;
    throw error.withHint(what, hint);
  }
}
