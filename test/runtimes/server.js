/**
 * The static server the browser pages load from: serves the repository's files (read-only, no dotfiles) on
 * 127.0.0.1, which is a secure context (crypto.subtle works), and receives each page's results as a POST to
 * /result/<id>. Node only.
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { rewriteBareImports } from '../../web/bare-imports.js';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.css': 'text/css',
};
const MAX_BODY = 64 << 20;

/** Starts the server; returns { origin, waitFor(id, timeoutMs), close() }. */
export async function startServer(rootDir) {
  const root = resolve(rootDir);
  const waiting = new Map();
  const server = createServer((req, res) => {
    handle(root, waiting, req, res).catch((error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** Resolves with the JSON body POSTed to /result/<id>; rejects after `timeoutMs`. */
    waitFor(id, timeoutMs) {
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          fail(new Error(`no result within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting.set(id, (body) => { clearTimeout(timer); waiting.delete(id); ok(body); });
      });
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

async function handle(root, waiting, req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'POST' && url.pathname.startsWith('/result/')) {
    const body = await readBody(req);
    const deliver = waiting.get(decodeURIComponent(url.pathname.slice('/result/'.length)));
    res.writeHead(deliver ? 204 : 404).end();
    let report;
    try {
      report = JSON.parse(body);
    } catch (error) {
      report = { engine: 'unknown', error: `the page sent a result that is not JSON (${error.message})` };
    }
    deliver?.(report);
    return;
  }
  if (req.method !== 'GET') return void res.writeHead(405).end();
  const path = resolve(root, `.${decodeURIComponent(url.pathname)}`);
  if (!path.startsWith(root + sep) || path.slice(root.length + 1).split(sep).some((part) => part.startsWith('.'))) {
    return void res.writeHead(403).end();
  }
  let data;
  try {
    data = await readFile(path);
  } catch {
    return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`);
  }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  // JavaScript is served with the library's bare import resolved (web/bare-imports.js).
  res.end(['.js', '.mjs'].includes(extname(path)) ? rewriteBareImports(data.toString('utf8')) : data);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('result body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
