/**
 * Weights prepared for the inference kernels (packed convolutions, stacked projections), kept while the weights
 * do not change: a sampling run creates one, passes it to every forward (`{ mode: 'inference', cache }`) and
 * disposes it at the end. Without a cache an inference pass prepares what it needs in the pass and frees it
 * with the pass's tensors (correct, only slower).
 */
import { keep, tidy, type Tensor } from '../tensor.ts';

/** Something prepared: its tensors, which the cache frees. */
export interface Prepared { tensors: readonly Tensor[] }

export class InferenceCache {
  private readonly entries = new Map<object, Prepared>();

  /** What `owner` prepared before, or `make()`'s result, kept until `dispose()`. */
  get<T extends Prepared>(owner: object, make: () => T): T {
    let entry = this.entries.get(owner) as T | undefined;
    if (entry === undefined) {
      entry = tidy(make);
      for (const t of entry.tensors) keep(t);
      this.entries.set(owner, entry);
    }
    return entry;
  }

  /** Frees everything prepared (after the weights change, or at the end of a sampling run). */
  dispose(): void {
    for (const { tensors } of this.entries.values()) for (const t of tensors) t.dispose();
    this.entries.clear();
  }
}
