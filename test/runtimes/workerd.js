/**
 * Cloudflare's workerd as a runtime of the harness, and the server helper that the Cloudflare Worker example's
 * test shares. workerd comes from the `workerd` npm package (the binary is inside it: nothing is downloaded), is
 * served on a loopback port it picks itself (it reports the port on a control pipe), and is stopped by the code
 * that started it; `stopAllWorkerd` ends any still running (the harness calls it on exit).
 *
 * workerd compiles no WebAssembly from bytes, so the scenarios run in a Worker bundled with esbuild that imports
 * dist/ddpm.wasm as a module (declared in the config) and passes it to `init()`. Node only.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The date the harness's Worker declares (a fixed one: behaviour must not move with the installed binary). */
export const COMPATIBILITY_DATE = '2025-06-01';

const running = new Set();

/** The workerd binary and version from node_modules, or { problem } when the package is not installed. */
export function workerdBinary() {
  try {
    const workerd = createRequire(import.meta.url)('workerd');
    if (!existsSync(workerd.default)) return { problem: `${workerd.default} not found: npm install` };
    return { path: workerd.default, version: workerd.version };
  } catch (error) {
    return { problem: `the workerd package is not installed (${error.message.split('\n')[0]}): npm install` };
  }
}

/**
 * Serves `config` (a .capnp file whose socket is named "http") on 127.0.0.1 and a free port; resolves with
 * { origin, pid, version, stop(), log() } once it listens; rejects (with its output) if it exits or `timeoutMs` passes first.
 */
export function startWorkerd(config, { cwd, timeoutMs = 30_000 } = {}) {
  const binary = workerdBinary();
  if (binary.problem) return Promise.reject(new Error(binary.problem));
  const child = spawn(binary.path, ['serve', config, '--socket-addr', 'http=127.0.0.1:0', '--control-fd', '3'], {
    cwd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const fail = (why) => { clearTimeout(timer); stop().finally(() => reject(new Error(`workerd ${why}${tail(output)}`))); };
    const timer = setTimeout(() => fail(`did not listen within ${timeoutMs / 1000} s`), timeoutMs);
    let control = '';
    child.stdio[3].on('data', (chunk) => {
      control += chunk;
      for (const line of control.split('\n').slice(0, -1)) {
        const event = JSON.parse(line);
        if (event.event === 'listen' && event.socket === 'http') {
          clearTimeout(timer);
          resolve({ origin: `http://127.0.0.1:${event.port}`, pid: child.pid, stop, log: () => output, version: binary.version });
        }
      }
    });
    child.on('error', (error) => fail(`could not start: ${error.message}`));
    exited.then(({ code, signal }) => fail(`exited (${signal ?? code}) before listening`));
  });
}

/** Ends every workerd started here that is still running (synchronous: safe on 'exit'). */
export function stopAllWorkerd() {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** A Cap'n Proto config for one Worker: an ES module entry plus wasm and data modules, all files in its folder. */
export function workerConfig({ entry, wasm = [], data = [], compatibilityDate = COMPATIBILITY_DATE }) {
  const modules = [
    `(name = "${entry}", esModule = embed "${entry}")`,
    ...wasm.map((name) => `(name = "${name}", wasm = embed "${name}")`),
    ...data.map((name) => `(name = "${name}", data = embed "${name}")`),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')},
  ],
  compatibilityDate = "${compatibilityDate}",
);
`;
}

/** The harness's runtime entry: `check(root)` and `run(ctx)` as in runtimes.js. */
export const workerdRuntime = {
  name: 'workerd',
  check: () => workerdBinary().problem ?? null,
  async run({ root, filter, scenarios, timeoutMs }) {
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-workerd-'));
    let server = null;
    try {
      await bundleScenarioWorker(root, scenarios, join(dir, 'worker.js'));
      copyFileSync(join(root, 'dist/ddpm.wasm'), join(dir, 'ddpm.wasm'));
      writeFileSync(join(dir, 'config.capnp'), workerConfig({ entry: 'worker.js', wasm: ['ddpm.wasm'] }));
      server = await startWorkerd('config.capnp', { cwd: dir, timeoutMs });
      const response = await fetch(`${server.origin}/?${new URLSearchParams({ filter })}`, { signal: AbortSignal.timeout(timeoutMs) })
        .catch((error) => { throw new Error(`no result: ${error.message}${tail(server.log())}`); });
      const report = await response.json();
      return { ...report, engine: `workerd ${server.version}` };
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * Bundles a Worker that runs the self-test of dist/ (report.js; the scenarios of `scenariosPath` from the repo
 * root, or the shipped ones) and answers its report as JSON.
 */
async function bundleScenarioWorker(root, scenariosPath, outfile) {
  const esbuild = await import('esbuild');
  const from = (path) => JSON.stringify(join(root, path));
  const source = `
    import * as lib from ${from('dist/bindings/index.js')};
    import { harnessReport } from ${from('test/runtimes/report.js')};
    ${scenariosPath ? `import * as custom from ${from(scenariosPath)};` : ''}
    import wasm from './ddpm.wasm';
    export default {
      async fetch(request) {
        const filter = new URL(request.url).searchParams.get('filter') ?? '';
        try {
          await lib.init(wasm);
        } catch (error) {
          return Response.json({ error: String(error.stack ?? error) });
        }
        return Response.json(await harnessReport(lib, { filter, scenarios: ${scenariosPath ? 'custom.scenarios' : 'null'} }));
      },
    };`;
  await esbuild.build({
    stdin: { contents: source, resolveDir: root, sourcefile: 'workerd-entry.js' }, bundle: true, format: 'esm',
    platform: 'browser', outfile, external: ['./ddpm.wasm'], logLevel: 'silent',
  });
}

function tail(text, lines = 15) {
  const kept = String(text ?? '').trim().split('\n').filter(Boolean).slice(-lines);
  return kept.length ? `\n    workerd log:\n${kept.map((l) => `      ${l}`).join('\n')}` : '';
}
