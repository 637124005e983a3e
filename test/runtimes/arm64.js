/**
 * A second processor architecture for the harness: the arm64 build of the `deno` npm package (the same Deno
 * version as node_modules/deno), run under Debian's qemu-user-static (qemu-aarch64-static) with the arm64 C
 * library of Debian's cross-compilation packages (libc6-arm64-cross, libgcc-s1-arm64-cross: amd64 packages that
 * put an arm64 sysroot in /usr/aarch64-linux-gnu, no foreign architecture needed) or of a multiarch install
 * (libc6:arm64). V8 compiles the wasm to arm64 machine code (NEON for SIMD128), which qemu then emulates.
 *
 * The Deno binary is fetched with npm's own client (`npm pack @deno/linux-arm64-glibc@<version>`) into
 * node_modules/.cache/ddpm-wasm-arm64/ by `fetchArm64Deno` (`npm run verify:arm64` does it once); the harness's
 * check only looks for it. Node only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const QEMU = ['qemu-aarch64-static', 'qemu-aarch64'];
const SYSROOTS = ['/usr/aarch64-linux-gnu', '/'];
const INSTALL = 'apt-get install qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross';

/** The Deno version of node_modules/deno, whose arm64 build runs the scenarios. */
export function denoVersion(root) {
  return JSON.parse(readFileSync(join(root, 'node_modules/deno/package.json'), 'utf8')).version;
}

/** Where the arm64 Deno binary is kept. */
export function arm64DenoPath(root) {
  return join(root, 'node_modules/.cache/ddpm-wasm-arm64', `deno-${denoVersion(root)}`, 'deno');
}

/** qemu's aarch64 user-mode emulator on the PATH, or null. */
function qemu() {
  for (const name of QEMU) {
    const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return { name, version: /version ([\d.]+)/.exec(probe.stdout)?.[1] ?? '?' };
  }
  return null;
}

/** A folder holding an arm64 dynamic loader (lib/ld-linux-aarch64.so.1), or null. */
function sysroot() {
  return SYSROOTS.find((folder) => existsSync(join(folder, 'lib/ld-linux-aarch64.so.1'))) ?? null;
}

/** Why the arm64 runtime cannot run here, or null. */
export function arm64Problem(root, { needDeno = true } = {}) {
  if (!qemu()) return `qemu-aarch64-static not found: ${INSTALL}`;
  if (!sysroot()) return `no arm64 C library (/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1): ${INSTALL}`;
  if (needDeno && !existsSync(arm64DenoPath(root))) return `the arm64 Deno is not fetched yet: npm run verify:arm64 (npm pack @deno/linux-arm64-glibc@${denoVersion(root)})`;
  return null;
}

/** Fetches the arm64 Deno (npm pack, then tar) unless it is there; returns its path. */
export function fetchArm64Deno(root, log = () => {}) {
  const path = arm64DenoPath(root);
  if (existsSync(path)) return path;
  const folder = join(path, '..');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const spec = `@deno/linux-arm64-glibc@${denoVersion(root)}`;
  log(`fetching ${spec} (npm pack, about 40 MB)`);
  const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', folder], { cwd: folder, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', join(folder, tarball), '--strip-components=1', '-C', folder, 'package/deno']);
  rmSync(join(folder, tarball));
  return path;
}

/** The harness's runtime entry (runtimes.js adds the running of scripts). */
export function arm64Runtime(denoFlags) {
  return {
    name: 'arm64',
    check: (root) => arm64Problem(root),
    /** qemu -L <sysroot> <arm64 deno> run <flags> <entry> <args>. */
    command: (root, entry, args) => {
      const q = qemu();
      return [q.name, ['-L', sysroot(), arm64DenoPath(root), ...denoFlags(root), entry, ...args]];
    },
    /** How reports name it: the emulator beside Deno's own label. */
    label: () => `under ${qemu()?.name} ${qemu()?.version}`,
  };
}
