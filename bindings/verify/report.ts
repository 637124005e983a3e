/**
 * The types of the self-test (`selfTest()`): its options, its report, and the golden table it reads. Types only,
 * so that the main entry can name them without loading the self-test.
 */

/** A determinism scenario (scenarios.js): `run(lib)` returns tensors or typed arrays from the library's public API. */
export interface Scenario {
  name: string;
  needs?: string[];
  run(lib: unknown): unknown;
}

/** One output as the self-test packs it: its bytes as base64 and, in a secure context, their SHA-256. */
export interface EncodedOutput {
  name: string;
  dtype: 'f32' | 'f64' | 'i32' | 'u32' | 'u8';
  shape: number[];
  sha256: string | null;
  base64: string;
}

/** The golden outputs: scenario name -> output name -> dtype, shape, SHA-256 and bytes. */
export type GoldenTable = Record<string, Record<string, Omit<EncodedOutput, 'name'>>>;

/** Options of `selfTest()`; all optional. */
export interface SelfTestOptions {
  /** Run only the scenarios whose name contains this. Default '' (all of them). */
  filter?: string;
  /** Called after each scenario with its result, its position (1-based) and the number selected: progress. */
  onScenario?: (result: ScenarioResult, done: number, total: number) => void;
  /** Keep every output's bytes and hash in the report (the cross-runtime harness compares them). Default false. */
  includeOutputs?: boolean;
  /** Other scenarios than the shipped ones (tools and tests). Default: the shipped scenarios. */
  scenarios?: readonly Scenario[];
  /** Another golden table (tools and tests). Default: the shipped golden.json. */
  golden?: GoldenTable;
}

/** One scenario's verdict. */
export interface ScenarioResult {
  name: string;
  /** 'passed': every output byte-identical to golden; 'pending': it needs an op the library does not have yet. */
  status: 'passed' | 'failed' | 'pending';
  /** What differs, one line per output ("y: first difference at [3] (index [1, 0]): ... vs golden ..."), or the error. */
  problems: string[];
  /** Milliseconds the scenario took. */
  ms: number;
  /** The error the scenario threw (message and the first lines of its stack). */
  error?: string;
  /** The functions it needs that the library lacks. */
  missing?: string[];
  /** With `includeOutputs`: every output's bytes and hash. */
  outputs?: EncodedOutput[];
}

/** The self-test's report: the same in every runtime but for `engine` and the times. */
export interface SelfTestReport {
  /** True when every scenario passed. */
  ok: boolean;
  passed: number;
  failed: number;
  pending: number;
  total: number;
  /** The runtime and its engine: 'Node 20.20.2 (V8 11.3...)', 'Deno ...', 'Bun ...', a browser's user agent, ... */
  engine: string;
  /** Milliseconds the whole run took. */
  ms: number;
  scenarios: ScenarioResult[];
}
