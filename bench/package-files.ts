/**
 * The package's own files (the shipped models, the ONNX fixtures) from the benchmark, wherever it runs from:
 * bench/*.ts in the repository (the root is ..) or dist/bench/*.js, compiled (the root is ../..).
 */
import { fileURLToPath } from 'node:url';

/** The path of `path` (from the package's root, e.g. 'models/mnist.safetensors'). */
export function packageFile(path: string): string {
  const here = new URL('.', import.meta.url);
  const root = here.pathname.endsWith('/dist/bench/') ? new URL('../../', here) : new URL('../', here);
  return fileURLToPath(new URL(path, root));
}
