/**
 * The npm packages the built code imports, @assemblyscript/loader (the library) and tinybench (the benchmark), are
 * bare specifiers ('@assemblyscript/loader'), which a browser resolves only through an import map, and import maps
 * do not reach module workers (the pages' sampler, benchmark and training run in one). The repository's
 * development servers (web/server.js and the
 * cross-runtime harness's) therefore do what bundlers' dev servers do: they rewrite the specifier in the
 * JavaScript they serve to the package file's path, and serve that file (and no other of node_modules/).
 * Users of the published package bundle it (esbuild, Vite, Rollup, webpack) or load it from a CDN that resolves
 * npm imports.
 */

/** Bare specifier -> the path (from the repository root) of the ES module file the server serves for it. */
export const BARE_IMPORTS = {
  '@assemblyscript/loader': '/node_modules/@assemblyscript/loader/index.js',
  tinybench: '/node_modules/tinybench/dist/index.js',
};

const SERVED = new Set(Object.values(BARE_IMPORTS));
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(@assemblyscript\/loader|tinybench)\2/g;

/** A module's source with every import of a package in BARE_IMPORTS pointing at the served file. */
export function rewriteBareImports(source) {
  return source.replace(SPECIFIER, (_, before, quote, name) => `${before}${quote}${BARE_IMPORTS[name]}${quote}`);
}

/** Whether `pathname` (a URL path) is a package file the servers may serve from node_modules/. */
export function isServedPackageFile(pathname) {
  return SERVED.has(pathname);
}
