/**
 * `ddpm train` when the world misbehaves, run for real on the 2-D toy: a second run into a folder in use is
 * refused naming the first one's pid; a stale lock of a dead run is taken over with a notice; SIGTERM and
 * SIGHUP checkpoint like Ctrl-C (exit 143 and 129) and the run resumes; temporary files of dead runs are removed
 * at the next start; a read-only --out is refused before training starts; a full disk names the file and the
 * cause and leaves no temporary file. The read-only and full-disk cases need a file system that binds root too
 * (root ignores permission bits): a read-only bind mount and a 3 MB tmpfs when this process may mount, else
 * (not root) a folder without write permission; otherwise they are skipped, saying why.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, init } from '../../bindings/index.ts';
import { ddpm, ensureBuilt, oneLineError, start, tempFolder, waitFor } from './helpers.ts';

await init();
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
const FAST = ['--data', 'gaussian8', '--batch', '16', '--sample-every', '0'];
const isRoot = process.getuid?.() === 0;

/** Mounts with `args` (root only); returns null on success, else why it could not. */
function mount(...args: string[]): string | null {
  if (!isRoot) return 'not root';
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  return result.status === 0 ? null : `mount ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`;
}
const unmount = (path: string) => spawnSync('umount', [path]);

/**
 * Makes `folder` and every folder in `inside` (its sub-folders) unwritable, for root (a read-only bind mount:
 * root ignores permission bits) as for others (mode 555); returns the undo.
 */
function makeReadOnly(folder: string, inside: string[] = []): () => void {
  if (!isRoot) {
    for (const path of [folder, ...inside]) chmodSync(path, 0o555);
    return () => { for (const path of [folder, ...inside]) chmodSync(path, 0o755); };
  }
  const failed = mount('--bind', folder, folder) ?? mount('-o', 'remount,bind,ro', folder, folder);
  if (failed) {
    unmount(folder);
    throw new Error(failed);
  }
  return () => unmount(folder);
}

/** Why the mount-based tests cannot run here (null: they can), found by trying once on a scratch folder. */
const mountProbe = (() => {
  const scratch = join(cwd, 'probe');
  mkdirSync(scratch);
  const tmpfs = mount('-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', scratch);
  if (tmpfs === null) unmount(scratch);
  const bind = isRoot ? (mount('--bind', scratch, scratch) ?? mount('-o', 'remount,bind,ro', scratch, scratch)) : null;
  if (isRoot) unmount(scratch);
  return { tmpfs, bind };
})();

/** `test`, or `test.skip` with the reason printed, when `why` is not null. */
function testUnless(why: string | null, name: string, body: () => Promise<void>): void {
  if (why === null) return test(name, body);
  console.log(`  skipping "${name}": ${why}`);
  test.skip(name, body);
}

test('a second run into a folder in use is refused, naming the pid; the first finishes, and frees the folder', async () => {
  const first = start(['train', ...FAST, '--steps', '1000000', '--out', 'busy'], cwd);
  await waitFor(first.output, (o) => o.stdout.includes('training mlp'));
  const second = await ddpm(['train', ...FAST, '--steps', '10', '--out', 'busy'], cwd);
  oneLineError(second, `--out busy is in use by another run: process ${first.child.pid}`, 'busy/train.lock');
  const resumed = await ddpm(['train', '--out', 'busy', '--resume', '--steps', '10'], cwd);
  oneLineError(resumed, `process ${first.child.pid}`);
  assert.ok(existsSync(join(cwd, 'busy', 'train.lock')));
  first.child.kill('SIGINT');
  assert.is((await first.done).code, 130);
  assert.not.ok(existsSync(join(cwd, 'busy', 'train.lock')), 'the lock is released at the end');
});

test('SIGTERM and SIGHUP checkpoint like Ctrl-C, exit 143 and 129, and the run resumes', async () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    const folder = `stopped-${signal}`;
    const run = start(['train', ...FAST, '--lr-decay', 'constant', '--steps', '1000000', '--save-every', '0', '--save-seconds', '0', '--out', folder], cwd);
    await waitFor(run.output, (o) => o.stdout.includes('training mlp'));
    await new Promise((resolve) => setTimeout(resolve, 700));
    run.child.kill(signal);
    const result = await run.done;
    assert.is(result.code, code, `${signal}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`received ${signal}: stopping after this step`));
    const steps = Number(/interrupted at step (\d+) of 1000000: checkpoint written/.exec(result.stdout)?.[1]);
    assert.ok(steps > 0, result.stdout);
    assert.is(decodeModel(readFileSync(join(cwd, folder, 'model.safetensors'))).metadata.training.steps, steps);
    assert.not.ok(existsSync(join(cwd, folder, 'train.lock')));
    const again = await ddpm(['train', '--out', folder, '--resume', '--steps', String(steps + 2), '--sample-every', '0'], cwd);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`from step ${steps} to step ${steps + 2}`));
  }
});

test('a stale lock and the temporary files of dead runs are taken over and removed, with a notice', async () => {
  const trained = await ddpm(['train', ...FAST, '--steps', '3', '--lr-decay', 'constant', '--out', 'stale'], cwd);
  assert.is(trained.code, 0, trained.stderr);
  // A dead process: a child that has exited (its pid is free again).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(join(cwd, 'stale', 'train.lock'), JSON.stringify({ pid: Number(dead), host: hostname(), started: 'then', processStart: null }));
  writeFileSync(join(cwd, 'stale', `.training-state.safetensors.${dead}.tmp`), 'half a checkpoint');
  writeFileSync(join(cwd, 'stale', `.model.safetensors.${process.pid}.tmp`), 'a live process\'s file');
  const result = await ddpm(['train', '--out', 'stale', '--resume', '--steps', '5', '--sample-every', '0'], cwd);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`taking over stale/train.lock from process ${dead}, which is no longer running`));
  assert.match(result.stderr, new RegExp(`removed 1 temporary file left by a run that stopped mid-write \\(\\.training-state\\.safetensors\\.${dead}\\.tmp\\)`));
  assert.equal(readdirSync(join(cwd, 'stale')).filter((name) => name.endsWith('.tmp')), [`.model.safetensors.${process.pid}.tmp`]);
  assert.not.ok(existsSync(join(cwd, 'stale', 'train.lock')));
});

const readOnlyWhy = isRoot && mountProbe.bind ? `root ignores permission bits, and a read-only bind mount is not possible here (${mountProbe.bind})` : null;
testUnless(readOnlyWhy, 'a read-only --out is refused before training starts, a new run and a resumed one', async () => {
  mkdirSync(join(cwd, 'readonly'));
  cpSync(join(cwd, 'stale'), join(cwd, 'readonly', 'run'), { recursive: true });
  const undo = makeReadOnly(join(cwd, 'readonly'), [join(cwd, 'readonly', 'run')]);
  try {
    const why = isRoot ? 'the file system is read-only (EROFS)' : 'permission denied (EACCES)';
    oneLineError(await ddpm(['train', ...FAST, '--steps', '5', '--out', join('readonly', 'new')], cwd), '--out readonly/new', 'cannot create the folder', why);
    const resumed = await ddpm(['train', '--out', join('readonly', 'run'), '--resume', '--steps', '500', '--sample-every', '0'], cwd);
    oneLineError(resumed, '--out readonly/run: cannot write in this folder', why);
    assert.not.match(resumed.stdout, /training mlp/, 'refused before training');
  } finally {
    undo();
  }
});

const fullDiskWhy = mountProbe.tmpfs ? `a small file system needs a tmpfs mount (${mountProbe.tmpfs})` : null;
testUnless(fullDiskWhy, 'a full disk: the error names the file and the cause, and no temporary file is left', async () => {
  const folder = join(cwd, 'small');
  mkdirSync(folder);
  const failed = mount('-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', folder);
  if (failed) throw new Error(failed);
  try {
    const result = await ddpm(['train', ...FAST, '--steps', '50', '--save-every', '10', '--out', join('small', 'run')], cwd);
    oneLineError(result, 'cannot write small/run/', 'no space left on the device (ENOSPC)', 'was left as it was');
    assert.equal(readdirSync(join(folder, 'run')).filter((f) => f.endsWith('.tmp') || f === 'train.lock'), []);
    decodeModel(readFileSync(join(folder, 'run', 'model.safetensors')), 'the last whole checkpoint');
  } finally {
    unmount(folder);
  }
});

test.after(() => temp.remove());
test.run();
