/**
 * The library's public API as one namespace: what the scenarios' `run(lib)` receive. index.ts imports this file
 * (through verify/index.ts) and this file re-exports index.ts: a cycle of static imports, the only one allowed
 * (.dependency-cruiser.cjs), harmless because nothing here runs while the modules load: the namespace is read
 * only when selfTest() is called.
 */
export * from '../index.ts';
