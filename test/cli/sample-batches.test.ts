/**
 * `ddpm sample` in batches: the samples do not depend on --batch (byte-identical .npy files), memory does not
 * grow with --num (the same WebAssembly heap for 2,000 and 40,000 points, or 8 and 64 images, and a peak RSS
 * within a few MB), the default batch keeps the model's working memory within its budget, a stopped run leaves
 * neither its output nor a temporary file, and a .png grid too large to encode is refused up front.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeModel, init, MLPDenoiser, UNet2DModel } from '../../bindings/index.ts';
import { decodeNpy } from '../../bindings/io/npy.ts';
import { ddpm, ensureBuilt, oneLineError, ROOT, start, tempFolder, waitFor } from './helpers.ts';

await init();
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

const digits = Array.from({ length: 10 }, (_, d) => String(d));
writeFileSync(join(cwd, 'toy.safetensors'), encodeModel(new MLPDenoiser({ hiddenSize: 32, numBlocks: 2 }, 3),
  { scheduler: { numTrainTimesteps: 50, clipSample: false }, data: { name: 'gaussian8', sampleShape: [2], classNames: [] }, training: { steps: 0 } }));
writeFileSync(join(cwd, 'digits.safetensors'), encodeModel(new UNet2DModel({ sampleSize: 32, inChannels: 1, blockOutChannels: [8, 8], layersPerBlock: 1, normNumGroups: 4, attentionResolutions: [16], numClassEmbeds: 10 }, 4),
  { scheduler: { numTrainTimesteps: 100, predictionType: 'v_prediction' }, data: { name: 'mnist', sampleShape: [1, 32, 32], classNames: digits }, training: { steps: 0 } }));

const npy = (file: string) => readFileSync(join(cwd, file));

test('the samples do not depend on --batch: identical .npy files, DDIM and DDPM, points and digits with guidance', async () => {
  const runs = [
    ['toy', ['--model', 'toy.safetensors', '--num', '50', '--sampler', 'ddpm', '--seed', '4'], ['1', '7', '50']],
    ['digits', ['--model', 'digits.safetensors', '--num', '9', '--steps', '3', '--guidance', '2', '--eta', '0.5'], ['2', '4', '9']],
  ] as const;
  for (const [name, args, batches] of runs) {
    const results = await Promise.all(batches.map((b) => ddpm(['sample', ...args, '--batch', b, '--out', `${name}-${b}.npy`], cwd)));
    results.forEach((r) => assert.is(r.code, 0, r.stderr));
    assert.match(results[0].stdout, new RegExp(`, ${Math.ceil(Number(args[3]) / Number(batches[0]))} batches of ${batches[0]},`));
    for (const b of batches.slice(1)) assert.ok(npy(`${name}-${b}.npy`).equals(npy(`${name}-${batches[0]}.npy`)), `${name}: --batch ${b} differs from --batch ${batches[0]}`);
  }
  const digitsArray = decodeNpy(npy('digits-2.npy'));
  assert.equal(digitsArray.shape, [9, 1, 28, 28]);
  assert.ok(digitsArray.data.every((x) => x >= 0 && x <= 1));
});

/** Runs the built `sample` in a fresh process; returns its peak RSS and WebAssembly heap. */
function measure(args: Record<string, unknown>): { maxRSS: number; heapBytes: number } {
  const dist = (path: string) => pathToFileURL(join(ROOT, 'dist', path)).href;
  const script = `
    import { init, memoryStats } from ${JSON.stringify(dist('bindings/index.js'))};
    import { sample } from ${JSON.stringify(dist('cli/sample.js'))};
    await init();
    await sample(${JSON.stringify({ sampler: 'ddim', guidance: 1, classifierScale: 1, seed: 0, ...args })}, () => {});
    process.stdout.write(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS * 1024, heapBytes: memoryStats().heapBytes }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.slice(result.stdout.lastIndexOf('{')));
}

test('memory does not grow with --num: the same WebAssembly heap and about the same peak RSS for 20x more samples', () => {
  const cases = [
    ['points', { model: 'toy.safetensors', steps: 2, batch: 1000 }, 2000, 40000],
    ['images', { model: 'digits.safetensors', steps: 1, batch: 4, class: '3' }, 8, 64],
  ] as const;
  for (const [name, args, few, many] of cases) {
    const small = measure({ ...args, num: few, out: `${name}-few.npy` });
    const large = measure({ ...args, num: many, out: `${name}-many.npy` });
    assert.is(large.heapBytes, small.heapBytes, `${name}: WebAssembly heap ${large.heapBytes} for ${many}, ${small.heapBytes} for ${few}`);
    const grown = (large.maxRSS - small.maxRSS) / 2 ** 20;
    assert.ok(grown < 24, `${name}: peak RSS grew by ${grown.toFixed(1)} MB from ${few} to ${many} samples`);
    assert.equal(decodeNpy(npy(`${name}-many.npy`)).shape[0], many);
  }
});

test('the default batch keeps the working memory within its 64 MB budget, whatever --num', () => {
  const few = measure({ model: 'digits.safetensors', steps: 1, num: 4, class: '1', out: 'default-few.npy' });
  const many = measure({ model: 'digits.safetensors', steps: 1, num: 400, class: '1', guidance: 3, out: 'default-many.npy' });
  assert.ok(many.heapBytes < 96 * 2 ** 20, `heap ${(many.heapBytes / 2 ** 20).toFixed(1)} MiB for 400 digits with guidance`);
  assert.ok(few.heapBytes <= many.heapBytes);
});

test('a stopped run leaves neither its output nor a temporary file; an oversized .png grid is refused up front', async () => {
  const run = start(['sample', '--model', 'toy.safetensors', '--num', '100000', '--batch', '500', '--out', 'stopped.npy'], cwd);
  await waitFor(run.output, () => readdirSync(cwd).some((f) => f.startsWith('.stopped.npy.')), 60);
  run.child.kill('SIGTERM');
  const result = await run.done;
  assert.is(result.code, 143, result.stderr);
  assert.match(result.stderr, /SIGTERM: stopped; stopped\.npy was not written/);
  assert.not.ok(existsSync(join(cwd, 'stopped.npy')));
  assert.equal(readdirSync(cwd).filter((f) => f.endsWith('.tmp')), []);
  oneLineError(await ddpm(['sample', '--model', 'digits.safetensors', '--num', '20000', '--out', 'big.png'], cwd), '--num 20000', 'at most 10,000 images', '.npy');
});

test.after(() => temp.remove());
test.run();
