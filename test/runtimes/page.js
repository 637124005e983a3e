/**
 * Entry point for the browsers: page.html imports this module, which imports the built library as a plain ES
 * module (no bundler), runs its self-test (report.js) and returns the results that page.html POSTs to the harness.
 */
import * as lib from '../../dist/bindings/index.js';
import { harnessReport } from './report.js';

/** `params`: filter (substring of scenario names) and scenarios (a module path from the repo root, or empty). */
export async function main(params) {
  const scenarios = params.get('scenarios') ? `/${params.get('scenarios')}` : null;
  const report = await harnessReport(lib, { filter: params.get('filter') ?? '', scenarios });
  return report.engine === 'unknown' ? { ...report, engine: navigator.userAgent } : report;
}
