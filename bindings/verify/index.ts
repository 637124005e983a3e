/**
 * `selfTest()`: checks, in whatever runtime calls it, that this library computes exactly the bits it computes
 * everywhere else. The scenarios, the golden table and the comparison (self-test.ts) load on the first call.
 *
 * Bundles: `selfTest` reaches the library through library.ts, a static import, so a bundle that never calls it
 * drops it whole (the package is side-effect free); the lazily loaded self-test.ts imports nothing of the library
 * (it is handed the API), so its chunk holds only the scenarios and the golden table, and code splitting keeps it
 * out of the chunks a page loads up front. (A lazy import of the library itself would make every export live in
 * the chunk the page shares with it: +24 KB gzipped for a minimal sampler bundled by esbuild.)
 */
import * as library from './library.ts';
import type { SelfTestOptions, SelfTestReport } from './report.ts';

export type { EncodedOutput, GoldenTable, Scenario, ScenarioResult, SelfTestOptions, SelfTestReport } from './report.ts';

/**
 * Runs the determinism scenarios (kernels forward and backward, random streams, training steps, samplers) in
 * this runtime and compares every output, byte for byte, with the golden outputs shipped in the package: the
 * same scenarios and table the project checks in Node, Deno, Bun, Chromium, Firefox, WebKit and workerd. Returns
 * a report (`ok`, counts, and per scenario its status and what differs: the first differing element with both
 * values); it throws only when the library cannot load. Calls `init()` itself when the core is not loaded
 * (where WebAssembly cannot be compiled from bytes, as in Cloudflare Workers, call `init(module)` first).
 * Takes about a second in Node; needs `crypto.subtle` (a secure context in browsers: https or localhost).
 */
export async function selfTest(options: SelfTestOptions = {}): Promise<SelfTestReport> {
  const { runSelfTest } = await import('./self-test.ts');
  return runSelfTest(library, options);
}
