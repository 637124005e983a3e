// The engine benchmark (dist/bench/engine.js) in a command-line runtime (Node, Deno, Bun), for `npm run
// bench:engines`: prints its report as one JSON line after the harness's marker.
//
//   node|deno run|bun scripts/engine-entry.mjs [--quick]
import * as lib from '../dist/bindings/index.js';
import { benchEngine } from '../dist/bench/engine.js';
import { RESULT_MARKER } from '../test/runtimes/report.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
await lib.init();
const report = await benchEngine({ quick: args.includes('--quick') });
console.log(RESULT_MARKER + JSON.stringify(report));
