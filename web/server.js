/**
 * A tiny static server for the pages (the sampler, the benchmark and verify page, the training page): serves the
 * repository's files read-only on 127.0.0.1 (the pages in web/, the built library in dist/, the models in models/
 * and any model file you trained inside the repository), never dotfiles or node_modules/ (but the package files
 * the built code imports, see bare-imports.js). `npm run web` runs it and prints the pages' addresses; with
 * --root it serves another folder instead, e.g. the static site `npm run web:build` writes. 127.0.0.1 is a secure
 * context, so module workers and crypto.subtle work. Node only.
 *
 *   node web/server.js [--port N] [--root FOLDER]   (port default 8080; 0 = any free port; a busy port falls back)
 */
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isServedPackageFile, rewriteBareImports } from './bare-imports.js';

/** The repository root: the folder above web/. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');

/** The page's path on the server. */
export const PAGE_PATH = '/web/';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.safetensors': 'application/octet-stream',
};

/**
 * Starts the server on 127.0.0.1. Options: root (default: the repository), port (default 0: any free port),
 * files (for tests: { '/url/path': Uint8Array } served from memory, before the root). Returns
 * { origin, url (the page), close() }; rejects when the port is taken.
 */
export async function startServer({ root = ROOT, port = 0, files = {} } = {}) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    handle(base, files, req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${error.message}`);
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    url: `${origin}${PAGE_PATH}`,
    close() {
      server.closeAllConnections?.();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

async function handle(root, files, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/' || url.pathname === '/web') return void res.writeHead(302, { location: `${PAGE_PATH}${url.search}` }).end();
  if (Object.hasOwn(files, url.pathname)) {
    const body = files[url.pathname];
    res.writeHead(200, { 'content-type': TYPES[extname(url.pathname)] ?? 'application/octet-stream', 'content-length': body.length });
    return void res.end(req.method === 'HEAD' ? null : body);
  }
  let pathname;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return void res.writeHead(400).end();
  }
  const path = resolve(root, `.${pathname.endsWith('/') ? `${pathname}index.html` : pathname}`);
  const parts = path.slice(root.length + 1).split(sep);
  const hidden = parts.some((part) => part.startsWith('.')) || (parts[0] === 'node_modules' && !isServedPackageFile(pathname));
  if (!path.startsWith(root + sep) || hidden) {
    return void res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(`forbidden: ${url.pathname}`);
  }
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${url.pathname}`);
  // JavaScript is served with the library's bare import resolved (see bare-imports.js).
  const data = extname(path) === '.js' ? Buffer.from(rewriteBareImports(await readFile(path, 'utf8'))) : await readFile(path);
  res.writeHead(200, {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': data.length,
    'cache-control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? null : data);
}

/** `npm run web`: serves the page and prints its address; warns when the library is not built yet. */
async function main(argv) {
  const at = argv.indexOf('--port');
  const wanted = at >= 0 ? Number(argv[at + 1]) : Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
    console.error(`web/server.js: --port must be an integer from 0 to 65535, got ${argv[at + 1] ?? process.env.PORT}`);
    process.exit(2);
  }
  const rootAt = argv.indexOf('--root');
  const root = rootAt >= 0 ? resolve(argv[rootAt + 1] ?? '') : ROOT;
  if (rootAt >= 0 && !existsSync(join(root, 'web/index.html'))) {
    console.error(`web/server.js: --root ${argv[rootAt + 1] ?? ''}: no web/index.html there (build a site with \`npm run web:build\`)`);
    process.exit(2);
  }
  let server;
  try {
    server = await startServer({ root, port: wanted });
  } catch (error) {
    if (error.code !== 'EADDRINUSE') throw error;
    server = await startServer({ root, port: 0 });
    console.log(`port ${wanted} is taken: using ${new URL(server.origin).port} instead`);
  }
  console.log(`ddpm-wasm sampler:              ${server.url}`);
  console.log(`benchmark and verify:           ${server.url}bench.html`);
  console.log(`training in the browser:        ${server.url}train.html`);
  if (root === ROOT && !existsSync(resolve(ROOT, 'dist/bindings/index.js'))) console.log('warning: dist/ is not built yet: run `npm run build` first');
  for (const name of ['mnist', 'colored-mnist']) {
    if (!existsSync(resolve(root, `models/${name}.safetensors`))) console.log(`note: models/${name}.safetensors is not there yet (pass ?model=<path> to use another model file)`);
  }
  console.log('Ctrl-C stops the server.');
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`web/server.js: ${error.message}`);
    process.exit(1);
  });
}
