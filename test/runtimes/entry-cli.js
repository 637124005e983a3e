/**
 * Entry point for the command-line runtimes (Node, Deno, Bun): imports the built library and the scenarios,
 * runs them and prints the results as one JSON line after a marker (anything printed before it is ignored).
 *
 *   node|deno run|bun test/runtimes/entry-cli.js [filter] [scenarios module, relative to the repo root]
 */
import * as lib from '../../dist/bindings/index.js';
import { collect, describeError, RESULT_MARKER } from './collect.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [filter = '', scenariosPath = 'test/runtimes/scenarios.js'] = args;

function engine() {
  if (globalThis.Deno) return `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
  if (globalThis.Bun) return `Bun ${Bun.version} (JavaScriptCore)`;
  return `Node ${process.versions.node} (V8 ${process.versions.v8})`;
}

let report;
try {
  const { scenarios } = await import(new URL(`../../${scenariosPath}`, import.meta.url).href);
  report = { engine: engine(), ...(await collect(lib, scenarios, { filter })) };
} catch (error) {
  report = { engine: engine(), error: describeError(error) };
}
console.log(RESULT_MARKER + JSON.stringify(report));
