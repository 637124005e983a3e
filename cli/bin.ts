#!/usr/bin/env node
/**
 * The `ddpm` executable. The packages only the command needs (argument parsing, the progress bar, pictures with
 * sharp, the MNIST digits) are optional peer dependencies, so that installing the library for embedding does not
 * bring them; the command checks for them before it loads (main.ts imports them), and names the missing ones in
 * one line with the command that installs them. `ddpm verify` and `ddpm bench` need none of them (light.ts).
 */
import { createRequire } from 'node:module';
import { isLightCommand, runLight } from './light.ts';

if (isLightCommand(process.argv.slice(2))) process.exit(await runLight(process.argv.slice(2)));

/** What the command needs beside the library, with what for. */
const COMMAND_PACKAGES: Record<string, string> = {
  commander: 'arguments', 'cli-progress': 'progress bars', sharp: 'pictures', mnist: 'the MNIST digits',
};

const require = createRequire(import.meta.url);
const missing = Object.keys(COMMAND_PACKAGES).filter((name) => {
  try {
    require.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  const what = missing.map((name) => `${name} (${COMMAND_PACKAGES[name]})`).join(', ');
  process.stderr.write(`ddpm: the command needs ${what}, which ddpm-wasm does not install for library users: ` +
    `npm install ${missing.join(' ')}\n`);
  process.exit(1);
}
await import('./main.ts');
