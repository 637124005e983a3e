/**
 * Entry point for the command-line runtimes (Node, Deno, Bun): imports the built library, runs its self-test
 * (`selfTest`, keeping every output's bytes) and prints the results as one JSON line after a marker (anything
 * printed before it is ignored).
 *
 *   node|deno run|bun test/runtimes/entry-cli.js [filter] [scenarios module, relative to the repo root]
 */
import * as lib from '../../dist/bindings/index.js';
import { harnessReport, RESULT_MARKER } from './report.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [filter = '', scenariosPath = ''] = args;
const scenarios = scenariosPath ? new URL(`../../${scenariosPath}`, import.meta.url).href : null;
console.log(RESULT_MARKER + JSON.stringify(await harnessReport(lib, { filter, scenarios })));
