// The noise-aware classifier of classifier guidance: its backward (parameters and input) against finite
// differences, with the denoisers' check (every model shares one contract).
import { test } from 'uvu';
import { init, NoiseAwareClassifier, Tensor, tidy } from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';
import { gradcheckModel } from './gradcheck.ts';

await init();

test('NoiseAwareClassifier gradient check: backward agrees with finite differences', () => {
  const classifier = new NoiseAwareClassifier({
    sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2, numClasses: 5,
  }, 4);
  tidy(() => {
    const x = Tensor.from(seededFloats(2 * 2 * 8 * 8, 21), [2, 2, 8, 8]);
    gradcheckModel(classifier, x, Int32Array.from([12, 901]), null, seededFloats(2 * 5, 22));
  });
});

test.run();
