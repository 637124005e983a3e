/**
 * Every code block of the README runs to completion as written (test/readme/snippets.ts reads them and their
 * annotations). The blocks run in order, as a reader would go through them, in one folder that stands for the
 * reader's checkout: symbolic links to this one, its own copy of models/, this package installed as
 * node_modules/ddpm-wasm, and `ddpm` on the PATH. sh blocks run command by command in bash; js blocks run in Node
 * and ts blocks through tsx, each to its end and then to the process's exit (a worker thread left running would
 * keep it alive: the README's training example must dispose its trainer).
 *
 * Beyond "exits with 0": the pictures of the README's `npm start` table are, pixel for pixel, the files `npm
 * start` wrote; a block annotated same-settings made a model with the shipped model's settings; and every block
 * not run is reported with its reason.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensorsHeader } from '../../bindings/io/safetensors.ts';
import { readMetadata } from '../../bindings/models/model-file.ts';
import { MAIN, ROOT, ensureBuilt } from '../cli/helpers.ts';
import { writeShapes } from '../cli/shapes.ts';
import { applyReplacements, readSnippets, shellCommands, type Snippet } from './snippets.ts';

ensureBuilt();
const README = join(ROOT, 'README.md');
const snippets = readSnippets(README);
/** A command or script that has not ended after this long is stopped and fails the test. */
const TIMEOUT_SECONDS = 30 * 60;
/** A js/ts block must exit this soon after its last statement ran. */
const EXIT_SECONDS = 20;
const END_MARKER = 'readme-test: the snippet ran to its end';

/** The reader's checkout: links to this one, a copy of models/ (a block overwrites it), the package installed. */
function makeCheckout(): string {
  const folder = mkdtempSync(join(tmpdir(), 'ddpm-readme-'));
  for (const entry of readdirSync(ROOT)) {
    if (['.git', 'node_modules', 'models', 'runs', 'out'].includes(entry)) continue;
    symlinkSync(join(ROOT, entry), join(folder, entry));
  }
  cpSync(join(ROOT, 'models'), join(folder, 'models'), { recursive: true });
  mkdirSync(join(folder, 'node_modules'));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules', entry), join(folder, 'node_modules', entry));
  symlinkSync(ROOT, join(folder, 'node_modules', 'ddpm-wasm'), 'dir');
  mkdirSync(join(folder, '.bin'));
  writeFileSync(join(folder, '.bin', 'ddpm'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`, { mode: 0o755 });
  return folder;
}

const checkout = makeCheckout();
const env = { ...process.env, PATH: `${join(checkout, '.bin')}:${process.env.PATH}`, FORCE_COLOR: '0' };

interface Run {
  code: number | null;
  output: string;
  /** Seconds from the end marker (js/ts) to the exit, or null. */
  exitDelay: number | null;
  timedOut: boolean;
}

/** Runs a process in the checkout (in its own process group, so a timeout stops its children too). */
function run(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: checkout, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let marked: number | null = null;
    let timedOut = false;
    const collect = (chunk: Buffer) => {
      output += chunk;
      if (marked === null && output.includes(END_MARKER)) marked = performance.now();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const stop = () => { timedOut = true; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = setTimeout(stop, TIMEOUT_SECONDS * 1000);
    const exitTimer = setInterval(() => { if (marked !== null && performance.now() - marked > EXIT_SECONDS * 1000) stop(); }, 500);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(exitTimer);
      resolve({ code, output, exitDelay: marked === null ? null : (performance.now() - marked) / 1000, timedOut });
    });
  });
}

function describeFailure(what: string, result: Run): string {
  return `${what}: exit ${result.code}${result.timedOut ? ' (stopped: it did not end)' : ''}; last output:\n${result.output.split('\n').slice(-25).join('\n')}`;
}

/** The blocks by name, for fragments that continue them. */
const named = new Map<string, Snippet>();

async function runShell(snippet: Snippet, where: string): Promise<void> {
  const code = applyReplacements(snippet.code, snippet.notes, where);
  const commands = shellCommands(code);
  const skips = snippet.notes.flatMap((n) => (n.kind === 'skip-line' ? [n] : []));
  for (const skip of skips) {
    if (!commands.some((c) => c.includes(skip.text))) throw new Error(`${where}: 'skip-line "${skip.text}"' matches no command`);
  }
  if (snippet.notes.some((n) => n.kind === 'setup')) await writeShapes(join(checkout, 'my-images'), 300);
  for (const command of commands) {
    const skip = skips.find((s) => command.includes(s.text));
    if (skip) {
      console.log(`  ${where}: not run: ${command}\n    (${skip.reason})`);
      continue;
    }
    const started = performance.now();
    const result = await run('bash', ['-o', 'pipefail', '-c', command]);
    assert.ok(result.code === 0 && !result.timedOut, describeFailure(`${where}: ${command}`, result));
    console.log(`    ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${command.replace(/\s+#.*$/, '')}`);
  }
  for (const note of snippet.notes) if (note.kind === 'same-settings') checkSameSettings(note.made, note.shipped, where);
}

async function runScript(snippet: Snippet, where: string): Promise<void> {
  const after = snippet.notes.find((n) => n.kind === 'after');
  let source = applyReplacements(snippet.code, snippet.notes, where);
  if (after) {
    // A fragment continues an earlier block: its imports join that block's, the rest runs in a scope of its own.
    const base = named.get(after.name);
    if (!base) throw new Error(`${where}: 'after ${after.name}' names no earlier block`);
    const lines = source.split('\n');
    const imports = lines.filter((l) => l.startsWith('import '));
    const body = lines.filter((l) => !l.startsWith('import '));
    source = `${imports.join('\n')}\n${applyReplacements(base.code, base.notes, where)}\n{\n${body.join('\n')}\n}`;
  }
  const file = join(checkout, `readme-line-${snippet.line}.${snippet.lang === 'ts' ? 'mts' : 'mjs'}`);
  writeFileSync(file, `${source}\nconsole.error(${JSON.stringify(END_MARKER)});\n`);
  const result = await run(process.execPath, snippet.lang === 'ts' ? ['--import', 'tsx', file] : [file]);
  assert.ok(result.code === 0 && !result.timedOut, describeFailure(where, result));
  assert.ok(result.exitDelay !== null && result.exitDelay < EXIT_SECONDS, `${where}: the process exits after its last statement (took ${result.exitDelay} s)`);
}

/** The settings of a model file: everything in its metadata but the number of steps trained. */
function settingsOf(path: string): unknown {
  const meta = readMetadata(readSafetensorsHeader(new Uint8Array(readFileSync(path)), path).metadata, path);
  const { training: { options }, version: _version, ...rest } = meta;
  return { ...rest, options };
}

function checkSameSettings(made: string, shipped: string, where: string): void {
  assert.equal(settingsOf(join(checkout, made)), settingsOf(join(ROOT, shipped)), `${where}: ${made} has the settings of ${shipped} (ddpm info shows both)`);
}

/** The pictures the README's `npm start` table shows (docs/NAME), which npm start must have written as out/NAME. */
function startPictures(): string[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const header = lines.findIndex((l) => l.includes('`npm start` leaves these in `./out`'));
  assert.ok(header >= 0, 'the README has the table of what `npm start` leaves in ./out');
  const table = lines.slice(header, lines.findIndex((l, i) => i > header && !l.startsWith('|')));
  return [...table.join('\n').matchAll(/\(docs\/([\w.-]+)\)/g)].map((m) => m[1]);
}

/** The decoded pixels of every frame of a picture, and its size. */
async function pixels(path: string): Promise<{ data: Buffer; info: object }> {
  const { data, info } = await sharp(path, { pages: -1 }).raw().toBuffer({ resolveWithObject: true });
  return { data, info: { width: info.width, height: info.height, channels: info.channels, pages: info.pages } };
}

for (const snippet of snippets) {
  const where = `README.md:${snippet.line} (${snippet.lang})`;
  const skip = snippet.notes.find((n) => n.kind === 'skip');
  const name = snippet.notes.find((n) => n.kind === 'name');
  if (name) named.set(name.name, snippet);
  if (skip) {
    console.log(`  ${where}: not run (${skip.reason})`);
    test.skip(`${where} (not run: ${skip.reason})`);
    continue;
  }
  test(`${where} runs to completion`, async () => {
    const started = performance.now();
    if (snippet.lang === 'sh') await runShell(snippet, where);
    else await runScript(snippet, where);
    console.log(`  ${where}: ran to completion in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });
  if (snippet.lang === 'sh' && snippet.code.includes('npm start')) {
    test(`${where}: the pictures of the README's npm start table are the ones npm start wrote into ./out`, async () => {
      const names = startPictures();
      assert.ok(names.length >= 4, `the table shows ${names.join(', ')}`);
      for (const picture of names) {
        const [made, shown] = await Promise.all([pixels(join(checkout, 'out', picture)), pixels(join(ROOT, 'docs', picture))]);
        assert.equal(made.info, shown.info, `out/${picture} and docs/${picture} have the same size and frames`);
        assert.ok(made.data.equals(shown.data), `out/${picture} has the pixels of docs/${picture}`);
      }
    });
  }
}

test.after(() => rmSync(checkout, { recursive: true, force: true }));
test.run();
