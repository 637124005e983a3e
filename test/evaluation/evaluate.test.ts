/**
 * The evaluation end to end (evaluation/index.ts, scripts/evaluate.ts) on tiny untrained models: it runs,
 * reports numbers in range (near chance, as an untrained model deserves) and refuses what it cannot judge.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, encodeSafetensors, init, MLPDenoiser, NoiseAwareClassifier, UNet2DModel, type ClassifierConfig } from '../../bindings/index.ts';
import { PALETTE } from '../../bindings/data/mnist.ts';
import { evaluateModel, evaluateModelFile, readDigitModel, trainingSeconds, type ClassAccuracy } from '../../evaluation/index.ts';

await init();

const folder = mkdtempSync(join(tmpdir(), 'ddpm-eval-'));
const judgeFolder = join(folder, 'judge');
const JUDGE: ClassifierConfig = {
  sampleSize: 28, inChannels: 1, blockOutChannels: [8, 8], layersPerBlock: 1, attentionResolutions: [], midBlockAttention: false,
  normNumGroups: 4, numClasses: 10,
};
const judge = { config: JUDGE, steps: 10, batchSize: 16 };

/** Writes an untrained tiny U-Net for `data` into the folder; returns its path. */
function tinyModel(name: string, data: string, channels: number, numClasses: number, sampleSize = 28): string {
  const model = new UNet2DModel({
    sampleSize, inChannels: channels, blockOutChannels: [8, 8], layersPerBlock: 1, attentionResolutions: [], midBlockAttention: false,
    normNumGroups: 4, numClassEmbeds: numClasses,
  });
  const classNames = Array.from({ length: numClasses }, (_, k) => String(k));
  const path = join(folder, `${name}.safetensors`);
  writeFileSync(path, encodeModel(model, { scheduler: { numTrainTimesteps: 1000 }, data: { name: data, sampleShape: [channels, sampleSize, sampleSize], classNames }, training: { steps: 7 } }));
  return path;
}

const inRange = (a: ClassAccuracy) => a.accuracy >= 0 && a.accuracy <= 1 && a.perClass.every((c) => c.right >= 0 && c.right <= c.total);

test('mnist: an untrained model is evaluated end to end, near chance, with a report', async () => {
  const path = tinyModel('digits', 'mnist', 1, 10);
  writeFileSync(join(folder, 'loss.csv'), 'step,loss,learning_rate,grad_norm,seconds\n6,0.5,0.001,1,3.5\n7,0.4,0.001,1,4.25\n');
  const { evaluation, judge: summary, model, markdown } = await evaluateModelFile(path, { perClass: 2, steps: 2, classifierFolder: judgeFolder, classifier: judge });
  assert.is(evaluation.data, 'mnist');
  assert.is(evaluation.samples, 20);
  assert.is(evaluation.images.length, 20 * 28 * 28);
  assert.equal(Array.from(evaluation.labels), Array.from({ length: 20 }, (_, i) => Math.floor(i / 2)));
  assert.ok(evaluation.digits.perClass.every((c) => c.total === 2));
  assert.ok(inRange(evaluation.digits) && inRange(summary.heldOut));
  assert.ok(evaluation.digits.accuracy <= 0.3, `an untrained model's digits are right ${evaluation.digits.accuracy} of the time`);
  assert.is(summary.heldOut.perClass.reduce((s, c) => s + c.total, 0), 1000);
  assert.ok(evaluation.samplingSeconds > 0);
  assert.is(model.trainingSeconds, 4.25);
  assert.is(model.trainingSteps, 7);
  assert.match(markdown, /\| real held-out digits, labelled by the classifier \| \d+\.\d% \| 1,000 \|/);
  assert.match(markdown, /\| generated digits, labelled as the digit asked for \| \d+\.\d% \| 20 \(2 per digit\) \|/);
  assert.match(markdown, /\| digit \| 0 \| 1 \| 2 \| 3 \| 4 \| 5 \| 6 \| 7 \| 8 \| 9 \|/);
  assert.match(markdown, /7 training steps, trained in 4\.3 s/);
});

test('colored-mnist: every (digit, color) pair is sampled; digit, color and both are reported; real tinted digits are read right', async () => {
  const path = tinyModel('colored', 'colored-mnist', 3, 60, 32);
  const { evaluation, judge: summary, markdown } = await evaluateModelFile(path, { perClass: 1, steps: 2, classifierFolder: judgeFolder, classifier: judge, trainingLog: join(folder, 'none.csv') });
  if (evaluation.data !== 'colored-mnist') throw new Error('expected a colored evaluation');
  assert.is(evaluation.samples, 60);
  assert.is(evaluation.images.length, 60 * 3 * 28 * 28);
  for (const a of [evaluation.digits, evaluation.colors, evaluation.both, evaluation.digitsByLabel, evaluation.colorsByLabel]) assert.ok(inRange(a));
  assert.ok(evaluation.both.accuracy <= Math.min(evaluation.digits.accuracy, evaluation.colors.accuracy));
  assert.ok(evaluation.colors.accuracy <= 0.5, `an untrained model's colors are right ${evaluation.colors.accuracy} of the time`);
  assert.is(evaluation.colors.perClass.length, PALETTE.length);
  // On real held-out digits the color judge is always right and the digit judge agrees with the grayscale one.
  const real = summary.heldOutColored!;
  assert.is(real.colors.accuracy, 1);
  assert.is(real.digits.accuracy, summary.heldOut.accuracy);
  assert.match(markdown, /\| real held-out digits, tinted \| \d+\.\d% \| 100\.0% \| \d+\.\d% \| 1,000 \|/);
  assert.match(markdown, /\| color asked \| red \| green \| blue \| yellow \| magenta \| cyan \|/);
  assert.match(markdown, /training time unknown/);
});

test('models the evaluation cannot judge are refused with a clear message', async () => {
  const refused = async (path: string) => readDigitModel(path).then(() => 'accepted', (error: Error) => error.message);
  assert.match(await refused(join(folder, 'nothing.safetensors')), /cannot read .*nothing\.safetensors: no such file/);
  assert.match(await refused(tinyModel('uncond', 'mnist', 1, 0)), /uncond\.safetensors is unconditional \(trained without --class-cond\)/);
  assert.match(await refused(tinyModel('wrong-classes', 'mnist', 1, 60)), /has 60 classes; a mnist model has 10/);
  const toy = join(folder, 'toy.safetensors');
  writeFileSync(toy, encodeModel(new MLPDenoiser({ numClassEmbeds: 8 }), { scheduler: {}, data: { name: 'gaussian8', sampleShape: [2], classNames: ['0', '1', '2', '3', '4', '5', '6', '7'] }, training: { steps: 1 } }));
  assert.match(await refused(toy), /toy\.safetensors was trained on 'gaussian8', not on mnist or colored-mnist/);
  const classifierPath = join(folder, 'classifier.safetensors');
  writeFileSync(classifierPath, encodeModel(new NoiseAwareClassifier(JUDGE), { scheduler: {}, data: { name: 'mnist', sampleShape: [1, 28, 28], classNames: Array.from({ length: 10 }, (_, d) => String(d)) }, training: { steps: 1 } }));
  assert.match(await refused(classifierPath), /holds a noise-aware classifier, not a diffusion model/);
  const state = join(folder, 'training-state.safetensors');
  writeFileSync(state, encodeSafetensors([{ name: 'params', shape: [1], data: new Float32Array(1) }, { name: 'ema', shape: [1], data: new Float32Array(1) }], {}));
  assert.match(await refused(state), /training-state\.safetensors is a training state, not a model file: pass the model\.safetensors beside it/);
  const { model, metadata } = await readDigitModel(join(folder, 'digits.safetensors'));
  const options = await evaluateModel(model, metadata, new NoiseAwareClassifier(JUDGE), { perClass: 0 }).then(() => '', (error: Error) => error.message);
  assert.match(options, /evaluateModel: perClass must be an integer >= 1, got 0/);
  const early = await evaluateModelFile(join(folder, 'digits.safetensors'), { steps: 1.5, classifierFolder: join(folder, 'never') }).then(() => '', (e: Error) => e.message);
  assert.match(early, /evaluateModel: steps must be an integer >= 1, got 1\.5/);
  assert.not.ok(existsSync(join(folder, 'never')), 'the judge was not trained for an evaluation that cannot run');
});

test('samples follow the documented seeds: digit d, batch j is drawn with seed + d + 10 j', async () => {
  const { model, metadata } = await readDigitModel(join(folder, 'digits.safetensors'));
  const judgeModel = new NoiseAwareClassifier(JUDGE);
  const whole = await evaluateModel(model, metadata, judgeModel, { perClass: 2, steps: 1, seed: 5 });
  const split = await evaluateModel(model, metadata, judgeModel, { perClass: 2, steps: 1, seed: 5, batchSize: 1 });
  const M = 28 * 28;
  assert.equal(Array.from(split.labels), Array.from(whole.labels));
  // The first sample of each digit is item 0 of seed 5 + d both times; the second is item 1 of that seed, or item 0 of 5 + d + 10.
  for (let d = 0; d < 10; d++) {
    assert.equal(split.images.subarray(2 * d * M, (2 * d + 1) * M), whole.images.subarray(2 * d * M, (2 * d + 1) * M));
    assert.not.equal(split.images.subarray((2 * d + 1) * M, (2 * d + 2) * M), whole.images.subarray((2 * d + 1) * M, (2 * d + 2) * M));
  }
});

test("the training time is the loss log's row at the model's step, or what the metadata records", () => {
  const log = join(folder, 'other.csv');
  writeFileSync(log, 'step,loss,learning_rate,grad_norm,seconds\n3,0.5,0.001,1,9\n4,0.5,0.001,1,11.5\n');
  const metadata = (steps: number) => ({ training: { steps } }) as Parameters<typeof trainingSeconds>[0];
  assert.is(trainingSeconds(metadata(3), log), 9);
  assert.is(trainingSeconds(metadata(7), log), null);
  assert.is(trainingSeconds(metadata(7), join(folder, 'absent.csv')), null);
  assert.is(trainingSeconds({ training: { steps: 7, seconds: 12 } } as never, log), 12);
});

test('the script prints one line and exits 1 on a missing model', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/evaluate.ts', '--model', join(folder, 'missing.safetensors')], { encoding: 'utf8' });
  assert.is(result.status, 1);
  assert.match(result.stderr, /^error: cannot read .*missing\.safetensors: no such file\n$/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/evaluate.ts', '--model', 'x', '--per-class', 'two'], { encoding: 'utf8' });
  assert.match(bad.stderr, /^error: --per-class must be an integer >= 1, got 'two'\n$/);
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

test.run();
