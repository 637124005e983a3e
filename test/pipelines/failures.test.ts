/**
 * Failing calls leave nothing behind: `tidy` disposes on throw; after 50 calls that fail in every way (a
 * scheduler error after the model ran, an error in onStep, out of memory mid-sampling and mid-build, a dataset
 * that throws, refused model files) a process holds the same WebAssembly memory as a fresh one, and its next
 * call gives the same samples. Out-of-memory errors say how much was asked for and what to lower. Batches with
 * `firstSample` give the same samples as one batch.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, DiffusionPipeline, EulerAncestralDiscreteScheduler, init, memoryStats,
  OutOfMemoryError, setMemoryLimit, Tensor, tidy, UNet2DModel,
} from '../../bindings/index.ts';

await init();

const model = new UNet2DModel({ sampleSize: 8, inChannels: 1, blockOutChannels: [8, 8], layersPerBlock: 1, normNumGroups: 4, attentionResolutions: [4], numClassEmbeds: 3 }, 2);
const labels = (n: number, from = 0) => Int32Array.from({ length: n }, (_, i) => (from + i) % 3);

test('tidy disposes what it created when its function throws, and rethrows', () => {
  const before = memoryStats().liveBytes;
  const outer = Tensor.zeros([4]);
  assert.throws(() => tidy(() => {
    Tensor.zeros([1 << 16]);
    tidy(() => Tensor.zeros([1 << 10]));
    throw new Error('boom');
  }), /boom/);
  assert.is(memoryStats().liveBytes - before, 64, 'only the outer tensor (16 bytes in a 64-byte block) is left');
  assert.is(outer.isDisposed, false);
  outer.dispose();
});

test('an out-of-memory error says what was asked for, what is in use, and what to lower', async () => {
  setMemoryLimit(memoryStats().heapBytes);
  try {
    const error = (() => { try { Tensor.zeros([1 << 28]); } catch (e) { return e as OutOfMemoryError; } })()!;
    assert.ok(error instanceof OutOfMemoryError);
    assert.match(error.message, /^a tensor of shape \[268435456\]: out of memory: 1024\.0 MiB were asked for, [\d.]+ MiB are in use \(the largest free block holds [\d.]+ MiB\), and the WebAssembly memory may not grow past [\d.]+ MiB, the limit set with setMemoryLimit$/);
    assert.is(error.requestedBytes, 2 ** 30);
    const pipeline = new DDPMPipeline({ model, scheduler: new DDPMScheduler({ numTrainTimesteps: 10 }) });
    const sampling = await pipeline.generate({ batchSize: 4096, classLabels: labels(4096), numInferenceSteps: 1 }).then(() => null, (e: Error) => e);
    assert.ok(sampling instanceof OutOfMemoryError);
    assert.match(sampling!.message, /^DDPMPipeline\.generate \(batchSize 4096\): a tensor of shape \[\d+(, \d+)*\]: out of memory: .*; lower batchSize: batches with firstSample give the same samples as one large batch$/);
  } finally {
    setMemoryLimit(null);
  }
  assert.throws(() => setMemoryLimit(100), /setMemoryLimit: the limit must be null or a whole number of bytes >= 65536, got 100/);
});

test('50 failing calls, then the WebAssembly memory of a fresh process and the same samples (separate processes)', () => {
  const child = fileURLToPath(new URL('./failure-child.ts', import.meta.url));
  const run = (mode: string) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', child, mode], { encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as { liveBytes: number; digest: number[]; step: number };
  };
  const fresh = run('fresh'), failed = run('failures');
  assert.ok(Math.abs(failed.liveBytes - fresh.liveBytes) <= 2 ** 20, `live bytes: ${failed.liveBytes} after the failures, ${fresh.liveBytes} fresh`);
  assert.equal(failed.digest, fresh.digest, 'the next call samples the same');
  assert.is(failed.step, 1);
});

test('sampling in batches with firstSample gives the same samples as one batch (DDPM, DDIM with eta and guidance, Euler ancestral)', async () => {
  const runs: [string, () => DiffusionPipeline, object][] = [
    ['DDPM', () => new DDPMPipeline({ model, scheduler: new DDPMScheduler({ numTrainTimesteps: 20 }) }), { numInferenceSteps: 4 }],
    ['DDIM eta 0.7, guidance 2', () => new DDIMPipeline({ model, scheduler: new DDIMScheduler({ numTrainTimesteps: 20 }) }), { numInferenceSteps: 4, eta: 0.7, guidanceScale: 2 }],
    ['Euler ancestral (noise addressed by step index)', () => new DiffusionPipeline({ model, scheduler: new EulerAncestralDiscreteScheduler({ numTrainTimesteps: 20 }) }), { numInferenceSteps: 4 }],
  ];
  for (const [name, make, options] of runs) {
    const whole = await make().generate({ ...options, batchSize: 7, seed: 5, classLabels: labels(7) });
    const all = whole.toFloat32Array();
    whole.dispose();
    const parts: number[] = [];
    for (const [first, size] of [[0, 3], [3, 1], [4, 3]]) {
      const part = await make().generate({ ...options, batchSize: size, seed: 5, firstSample: first, classLabels: labels(size, first) });
      parts.push(...part.toFloat32Array());
      part.dispose();
    }
    assert.equal(parts, Array.from(all), name);
  }
  const pipeline = new DDIMPipeline({ model, scheduler: new DDIMScheduler({ numTrainTimesteps: 20 }) });
  await pipeline.generate({ classLabels: [0], firstSample: -1 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /firstSample must be a non-negative integer, got -1/));
  await pipeline.generate({ classLabels: [0], firstSample: 2 ** 40 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /do not fit a step's block of 2\^36 noise numbers/));
});

test('class labels are checked before any conversion: NaN and 1.5 are errors, not classes 0 and 1', async () => {
  const pipeline = new DDIMPipeline({ model, scheduler: new DDIMScheduler({ numTrainTimesteps: 20 }) });
  const cases: [unknown, RegExp][] = [
    [[Number.NaN], /classLabels\[0\] is NaN: labels are integers from 0 to 2/],
    [[0, 1.5], /classLabels\[1\] is 1\.5: labels are integers from 0 to 2/],
    [['1'], /classLabels\[0\] is '1'/],
    [Float32Array.of(2.5), /classLabels\[0\] is 2\.5/],
    ['0', /classLabels must be an array or Int32Array of class labels, got '0'/],
  ];
  for (const [classLabels, pattern] of cases) {
    const error = await pipeline.generate({ classLabels: classLabels as number[], batchSize: (classLabels as unknown[]).length || 1, numInferenceSteps: 1 }).then(() => null, (e: Error) => e);
    assert.match(error?.message ?? 'accepted', pattern);
  }
  assert.throws(() => model.forward(Tensor.zeros([1, 1, 8, 8]), Int32Array.of(0), [1.5] as never), /class labels must be an Int32Array, got a\w* Array/);
});

test.run();
