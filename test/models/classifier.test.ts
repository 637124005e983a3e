// The noise-aware classifier of classifier guidance: its backward (parameters and input) against finite
// differences, as the denoisers' (gradcheck.ts reads it as a Denoiser whose output is the logits).
import { test } from 'uvu';
import { init, NoiseAwareClassifier, Tensor, tidy, type Denoiser } from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';
import { gradcheckModel } from './gradcheck.ts';

await init();

test('NoiseAwareClassifier gradient check: backward agrees with finite differences', () => {
  const classifier = new NoiseAwareClassifier({
    sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2, numClasses: 5,
  }, 4);
  const asDenoiser = {
    kind: 'classifier', config: classifier.config, params: classifier.params, sampleShape: [2, 8, 8], numClasses: 0,
    forward: (x: Tensor, timesteps: Int32Array) => classifier.forward(x, timesteps),
    backward: (dLogits: Tensor) => classifier.backward(dLogits),
    setDropoutContext: () => {},
  } satisfies Denoiser;
  tidy(() => {
    const x = Tensor.from(seededFloats(2 * 2 * 8 * 8, 21), [2, 2, 8, 8]);
    gradcheckModel(asDenoiser, x, Int32Array.from([12, 901]), null, seededFloats(2 * 5, 22));
  });
});

test.run();
