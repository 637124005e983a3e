/**
 * Entry point for the browsers: page.html imports this module, which imports the built library and the
 * scenarios as plain ES modules (no bundler) and returns the results that page.html POSTs to the harness.
 */
import * as lib from '../../dist/bindings/index.js';
import { collect, describeError } from './collect.js';

/** `params`: filter (substring of scenario names) and scenarios (module path from the repo root). */
export async function main(params) {
  const engine = navigator.userAgent;
  try {
    const { scenarios } = await import(`/${params.get('scenarios') ?? 'test/runtimes/scenarios.js'}`);
    return { engine, ...(await collect(lib, scenarios, { filter: params.get('filter') ?? '' })) };
  } catch (error) {
    return { engine, error: describeError(error) };
  }
}
