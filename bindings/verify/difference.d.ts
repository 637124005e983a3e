// Types of difference.js (plain JavaScript, which browsers and the harness load as it is).
import type { EncodedOutput, GoldenTable } from './report.ts';

export declare function outputProblems(golden: GoldenTable[string], outputs: readonly EncodedOutput[]): string[];
export declare function describeDifference(entry: Omit<EncodedOutput, 'name'>, reference: Omit<EncodedOutput, 'name'>, refLabel?: string): string;
export declare function formatValue(dtype: EncodedOutput['dtype'], value: number): string;
export declare function hexFloat(bits: bigint, exponentBits: number, fractionBits: number, hexDigits: number): string;
export declare function typedArray(output: Pick<EncodedOutput, 'dtype' | 'base64'>): Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;
export declare function fromBase64(base64: string): Uint8Array;
