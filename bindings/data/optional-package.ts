/**
 * The packages that only some Node-side features need (the `mnist` digits, sharp for image folders, and the
 * command's own) are optional peer dependencies of ddpm-wasm: installing the library does not bring them (mnist
 * is 41 MB, sharp 19 MB). The features that need one load it here, on first use, and fail in one line that says
 * which package to install.
 */
import { createRequire } from 'node:module';

const isMissing = (error: unknown, name: string) => {
  const { code, message } = error as { code?: string; message?: string };
  return code === 'MODULE_NOT_FOUND' && String(message).includes(`'${name}'`);
};

/** `require(name)` (mnist and sharp are CommonJS packages), or one line saying that `neededBy` needs it installed. */
export function requireOptional<T>(name: string, neededBy: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new Error(`${neededBy} needs the '${name}' package, an optional peer dependency of ddpm-wasm that is not installed: npm install ${name}`);
  }
}
