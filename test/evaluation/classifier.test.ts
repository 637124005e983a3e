/** The evaluation's judge (evaluation/digit-classifier.ts, classifier-cache.ts): training, shifts, cache, checks. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, NoiseAwareClassifier, Tensor, tidy, type ClassifierConfig } from '../../bindings/index.ts';
import { mnistDataset } from '../../bindings/data/mnist.ts';
import { softmaxCrossEntropy } from '../../bindings/ops/elementwise.ts';
import {
  classifierFile, classifyImages, loadOrTrainDigitClassifier, resolveClassifierOptions, shiftDigits, tally, trainDigitClassifier,
} from '../../evaluation/index.ts';

await init();

/** A tiny judge: 28 -> 14, 8 channels. */
const TINY: ClassifierConfig = {
  sampleSize: 28, inChannels: 1, blockOutChannels: [8, 8], layersPerBlock: 1, attentionResolutions: [], midBlockAttention: false,
  normNumGroups: 4, numClasses: 10,
};
const train = mnistDataset({ split: 'train' });
/** The first 5 digits of every class (the data is ordered by class). */
const subset = train.subset('mnist', tidy(() => {
  const labels = train.batch(Int32Array.from({ length: train.size }, (_, i) => i)).labels!;
  return Array.from({ length: 10 }, (_, digit) => labels.indexOf(digit)).flatMap((first) => [0, 1, 2, 3, 4].map((k) => first + k));
}));

function subsetLoss(classifier: NoiseAwareClassifier): number {
  return tidy(() => {
    const { x, labels } = subset.batch(Int32Array.from({ length: subset.size }, (_, i) => i));
    return softmaxCrossEntropy(classifier.forward(x, new Int32Array(subset.size)), labels!).loss;
  });
}

test('the training loop lowers the cross-entropy on a tiny subset, deterministically', async () => {
  const options = { dataset: subset, config: TINY, steps: 100, batchSize: 16, learningRate: 5e-3, warmupSteps: 5, maxShift: 0, seed: 3 };
  const before = subsetLoss(new NoiseAwareClassifier(TINY, 3));
  const { classifier, losses } = await trainDigitClassifier(options);
  const after = subsetLoss(classifier);
  assert.is(losses.length, 100);
  assert.ok(after < 0.85 * before, `loss on the subset: ${before.toFixed(3)} before, ${after.toFixed(3)} after`);
  const again = await trainDigitClassifier({ ...options, steps: 3 });
  const twice = await trainDigitClassifier({ ...options, steps: 3 });
  assert.equal(Array.from(again.classifier.params.values.toFloat32Array()), Array.from(twice.classifier.params.values.toFloat32Array()));
  assert.equal(again.losses, losses.slice(0, 3));
});

test('shiftDigits moves each image by its own draw and fills the border with background', () => {
  tidy(() => {
    // Two 1-channel 3x3 images; draws (dx, dy) + maxShift 1: the first moves right by 1, the second not at all.
    const x = Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 1, 3, 3]);
    shiftDigits(x, Int32Array.from([2, 1, 1, 1]), 1);
    assert.equal(Array.from(x.toFloat32Array()), [-1, 1, 2, -1, 4, 5, -1, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    shiftDigits(x, Int32Array.from([1, 0, 1, 1]), 1);
    assert.equal(Array.from(x.toFloat32Array()).slice(0, 9), [-1, 4, 5, -1, 7, 8, -1, -1, -1]);
  });
});

test('tally counts per class; classifyImages checks its input', () => {
  const result = tally(Int32Array.from([0, 1, 1, 2]), Int32Array.from([0, 1, 2, 2]), 3);
  assert.is(result.accuracy, 0.75);
  assert.equal(result.perClass, [{ right: 1, total: 1 }, { right: 1, total: 1 }, { right: 1, total: 2 }]);
  assert.throws(() => classifyImages(new NoiseAwareClassifier(TINY), new Float32Array(100)), /classifyImages: 100 values do not make whole images of \[1, 28, 28\]/);
});

test('options are checked by name', async () => {
  assert.throws(() => resolveClassifierOptions({ steps: 0 }), /trainDigitClassifier: steps must be an integer >= 1, got 0/);
  assert.throws(() => resolveClassifierOptions({ learningRate: 2 }), /learningRate must be in \(0, 1\], got 2/);
  assert.throws(() => resolveClassifierOptions({ epochs: 3 } as never), /unknown option 'epochs'/);
  const error = await trainDigitClassifier({ dataset: train, config: { ...TINY, numClasses: 7 }, steps: 1 }).then(() => null, (e: Error) => e);
  assert.match(error?.message ?? 'no error', /it tells 7 classes apart, the dataset 'mnist' has 10/);
});

test('the cache trains once, then reads the same weights; a file of other settings is refused', async () => {
  const folder = join(mkdtempSync(join(tmpdir(), 'ddpm-eval-')), 'judge');
  try {
    const options = { config: TINY, steps: 2, batchSize: 8 };
    const first = await loadOrTrainDigitClassifier(folder, options);
    assert.ok(first.trainedNow);
    assert.ok(existsSync(first.path) && first.trainingSeconds > 0);
    const second = await loadOrTrainDigitClassifier(folder, options);
    assert.not.ok(second.trainedNow);
    assert.is(second.path, first.path);
    assert.is(second.trainingSeconds, first.trainingSeconds);
    assert.equal(Array.from(second.classifier.params.values.toFloat32Array()), Array.from(first.classifier.params.values.toFloat32Array()));
    assert.equal(readdirSync(folder), [first.path.split('/').pop()]);
    // A file under the name of other settings (as a hash collision would leave) is not taken for them.
    const other = resolveClassifierOptions({ steps: 3, batchSize: 8 });
    copyFileSync(first.path, classifierFile(folder, TINY, other));
    let message = '';
    await loadOrTrainDigitClassifier(folder, { config: TINY, ...other }).catch((error: Error) => { message = error.message; });
    assert.match(message, /was trained with other settings than asked for .*; delete it to retrain/);
  } finally {
    rmSync(join(folder, '..'), { recursive: true, force: true });
  }
});

test.run();
