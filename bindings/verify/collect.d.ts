// Types of collect.js (plain JavaScript, which browsers and the harness load as it is).
import type { EncodedOutput, Scenario } from './report.ts';

/** One scenario as collect.js reports it. */
export interface CollectedResult { name: string; outputs?: EncodedOutput[]; pending?: string[]; error?: string; ms?: number }

export declare function collect(lib: unknown, scenarios: readonly Scenario[], options?: { filter?: string; onResult?: (result: CollectedResult) => void }):
  Promise<{ results: CollectedResult[]; ms: number }>;
export declare function sha256(bytes: Uint8Array): Promise<string>;
export declare function describeError(error: unknown): string;
