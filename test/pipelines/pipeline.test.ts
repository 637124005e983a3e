// The sampling pipelines: the loop against a hand-written one, classifier-free guidance as the combination of
// the model's two predictions, classifier guidance as a shift of eps whatever the model predicts, onStep,
// sample addressing by seed and index, and bad options.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  classifierGradient, DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, init, NoiseAwareClassifier, ops, Tensor, tidy,
  UNet2DModel, type Denoiser, type GenerateOptions, type PredictionType,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose } from '../helpers.ts';

await init();

const CLASSES = 3;
const tinyUNet = (numClassEmbeds: number, seed = 1) => new UNet2DModel({
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4],
  numHeads: 2, numClassEmbeds, resnetTimeScaleShift: 'scale_shift',
}, seed);
const conditional = tinyUNet(CLASSES);
const unconditional = tinyUNet(0, 2);
const classifier = new NoiseAwareClassifier({
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [], numClasses: CLASSES,
}, 3);
const ddim = (predictionType: PredictionType = 'epsilon') => new DDIMScheduler({ numTrainTimesteps: 100, predictionType });
const labels = Int32Array.from([2, 0, 1]);
const N = labels.length;

/**
 * DDIM sampling written out: x_T from the pipeline's noise address, then `guide(x, t)` as the model output and
 * eps re-derived from the clipped x0 (the pipeline's default) unless told otherwise.
 */
function handWrittenDDIM(scheduler: DDIMScheduler, steps: number, seed: number, guide: (x: Tensor, t: number) => Tensor, useClippedModelOutput = true): Float32Array {
  return tidy(() => {
    scheduler.setTimesteps(steps);
    let x = ops.randn([N, 2, 8, 8], { seed, stream: STREAMS.initialNoise });
    for (const t of scheduler.timesteps) x = scheduler.step(guide(x, t), t, x, { useClippedModelOutput }).prevSample;
    return x.toFloat32Array();
  });
}

const generate = (pipeline: DDIMPipeline | DDPMPipeline, options: GenerateOptions) => pipeline.generate(options).then((x) => {
  const values = x.toFloat32Array();
  x.dispose();
  return values;
});

const fill = (t: number) => new Int32Array(N).fill(t);

test('sampling equals the loop written by hand: x_T from (seed, STREAMS.initialNoise), then step after step', async () => {
  const scheduler = ddim();
  const sampled = await generate(new DDIMPipeline({ model: conditional, scheduler }), { batchSize: N, numInferenceSteps: 5, seed: 7, classLabels: labels });
  const expected = handWrittenDDIM(ddim(), 5, 7, (x, t) => conditional.forward(x, fill(t), labels));
  assert.equal(sampled, expected);
});

test("DDIM takes eps from the clipped x0 by default; useClippedModelOutput: false is diffusers' raw-eps update", async () => {
  const pipeline = new DDIMPipeline({ model: conditional, scheduler: ddim() });
  const options = { batchSize: N, numInferenceSteps: 5, seed: 3, classLabels: labels, guidanceScale: 8 };
  const guided = (x: Tensor, t: number) => {
    const cond = conditional.forward(x, fill(t), labels).toFloat32Array();
    const uncond = conditional.forward(x, fill(t), fill(CLASSES)).toFloat32Array();
    return Tensor.from(uncond.map((u, i) => u + 8 * (cond[i] - u)), x.shape);
  };
  const clipped = await generate(pipeline, options);
  const raw = await generate(pipeline, { ...options, useClippedModelOutput: false });
  assertClose(clipped, handWrittenDDIM(ddim(), 5, 3, guided, true), { atol: 1e-5, rtol: 1e-5 }, 'default');
  assertClose(raw, handWrittenDDIM(ddim(), 5, 3, guided, false), { atol: 1e-5, rtol: 1e-5 }, 'useClippedModelOutput false');
  assert.ok(raw.some((v, i) => Math.abs(v - clipped[i]) > 1e-2), 'guidance 8 pushes x0 past the clip range, so the two differ');
});

test('classifier-free guidance: uncond + w (cond - uncond); w = 0 is the null-label model exactly', async () => {
  const w = 3;
  const guided = await generate(new DDIMPipeline({ model: conditional, scheduler: ddim() }), { batchSize: N, numInferenceSteps: 4, seed: 1, classLabels: labels, guidanceScale: w });
  const expected = handWrittenDDIM(ddim(), 4, 1, (x, t) => {
    const cond = conditional.forward(x, fill(t), labels).toFloat32Array();
    const uncond = conditional.forward(x, fill(t), fill(CLASSES)).toFloat32Array();
    return Tensor.from(uncond.map((u, i) => u + w * (cond[i] - u)), x.shape);
  });
  assertClose(guided, expected, { atol: 1e-5, rtol: 1e-5 }, 'guidance 3');

  const zero = await generate(new DDIMPipeline({ model: conditional, scheduler: ddim() }), { batchSize: N, numInferenceSteps: 4, seed: 1, classLabels: labels, guidanceScale: 0 });
  assert.equal(zero, handWrittenDDIM(ddim(), 4, 1, (x, t) => conditional.forward(x, fill(t), fill(CLASSES))));
});

test('classifierGradient is the input gradient of sum log p(y | x_t, t) (central differences)', () => {
  tidy(() => {
    const x = ops.randn([N, 2, 8, 8], { seed: 9 });
    const timesteps = Int32Array.from([3, 50, 99]);
    const logProb = () => tidy(() => {
      const logits = classifier.forward(x, timesteps).toFloat32Array();
      let sum = 0;
      for (let n = 0; n < N; n++) {
        const row = Array.from(logits.subarray(n * CLASSES, (n + 1) * CLASSES));
        const top = Math.max(...row);
        sum += row[labels[n]] - top - Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
      }
      return sum;
    });
    const analytic = classifierGradient(classifier, x, timesteps, labels).toFloat32Array();
    const h = 1e-2;
    for (const i of [0, 77, 128 + 5, 300, x.size - 1]) {
      const saved = x.view()[i];
      x.view()[i] = saved + h; const up = logProb();
      x.view()[i] = saved - h; const down = logProb();
      x.view()[i] = saved;
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * Math.abs(numeric), `x[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
    }
  });
});

test("classifier guidance: eps - s sqrt(1 - ab_t) grad log p(y | x_t), the same step whatever the model predicts", async () => {
  const s = 4;
  const scheduler = ddim();
  const guided = await generate(new DDIMPipeline({ model: unconditional, scheduler }), { batchSize: N, numInferenceSteps: 4, seed: 2, classLabels: labels, classifier, classifierScale: s });
  const expected = handWrittenDDIM(ddim(), 4, 2, (x, t) => {
    const eps = unconditional.forward(x, fill(t)).toFloat32Array();
    const g = classifierGradient(classifier, x, fill(t), labels).toFloat32Array();
    const k = -s * Math.sqrt(1 - scheduler.alphasCumprod[t]);
    return Tensor.from(eps.map((e, i) => e + k * g[i]), x.shape);
  });
  assertClose(guided, expected, { atol: 1e-5, rtol: 1e-5 }, 'epsilon model');
  const unguided = await generate(new DDIMPipeline({ model: unconditional, scheduler: ddim() }), { batchSize: N, numInferenceSteps: 4, seed: 2 });
  assert.ok(guided.some((v, i) => Math.abs(v - unguided[i]) > 1e-3), 'the guidance changes the samples');

  // The same network read as predicting v, and a wrapper that turns its v into eps: guided sampling must agree.
  const vScheduler = ddim('v_prediction');
  const asEpsilon: Denoiser = {
    kind: 'unet2d', config: unconditional.config, params: unconditional.params, sampleShape: unconditional.sampleShape, numClasses: 0,
    backward: () => { throw new Error('sampling only'); },
    forward: (x, timesteps) => {
      const ab = vScheduler.alphasCumprod[timesteps[0]];
      const v = unconditional.forward(x, timesteps).toFloat32Array(), xs = x.toFloat32Array();
      return Tensor.from(v.map((vi, i) => Math.sqrt(1 - ab) * xs[i] + Math.sqrt(ab) * vi), x.shape);
    },
  };
  const options = { batchSize: N, numInferenceSteps: 4, seed: 2, classLabels: labels, classifier, classifierScale: s };
  const fromV = await generate(new DDIMPipeline({ model: unconditional, scheduler: vScheduler }), options);
  const fromEps = await generate(new DDIMPipeline({ model: asEpsilon, scheduler: ddim() }), options);
  assertClose(fromV, fromEps, { atol: 1e-4, rtol: 1e-4 }, 'v_prediction vs the same model as epsilon');
});

test('onStep sees every step in order, with the sample that the next step starts from', async () => {
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 100 });
  const seen: { index: number; total: number; timestep: number; sample: Float32Array; x0: Float32Array }[] = [];
  const final = await generate(new DDPMPipeline({ model: conditional, scheduler }), {
    batchSize: N, numInferenceSteps: 10, seed: 4, classLabels: labels,
    onStep: ({ index, total, timestep, sample, predOriginalSample }) => {
      seen.push({ index, total, timestep, sample: sample.toFloat32Array(), x0: predOriginalSample.toFloat32Array() });
    },
  });
  assert.equal(seen.map((s) => s.index), [...Array(10).keys()]);
  assert.ok(seen.every((s) => s.total === 10));
  assert.equal(seen.map((s) => s.timestep), Array.from(scheduler.timesteps));
  assert.equal(seen[9].sample, final);
  assert.ok(seen.every((s) => s.x0.every((v) => v >= -1 && v <= 1)), 'predicted x0 is clipped to [-1, 1]');
});

test("a sample depends on its seed and index, not on the batch size (DDPM, every step's noise included)", async () => {
  const pipeline = new DDPMPipeline({ model: conditional, scheduler: new DDPMScheduler({ numTrainTimesteps: 100 }) });
  const three = await generate(pipeline, { batchSize: 3, numInferenceSteps: 20, seed: 5, classLabels: [1, 2, 0] });
  const one = await generate(pipeline, { batchSize: 1, numInferenceSteps: 20, seed: 5, classLabels: [1] });
  assert.equal(three.subarray(0, one.length), one);
  const otherSeed = await generate(pipeline, { batchSize: 1, numInferenceSteps: 20, seed: 6, classLabels: [1] });
  assert.not.equal(otherSeed, one);
});

test('bad options are refused with messages naming the option and what is allowed', async () => {
  const ddpm = new DDPMPipeline({ model: conditional, scheduler: new DDPMScheduler({ numTrainTimesteps: 100 }) });
  const plain = new DDIMPipeline({ model: unconditional, scheduler: ddim() });
  const guidedConditional = new DDIMPipeline({ model: tinyUNet(5), scheduler: ddim() });
  const wrongShape = new NoiseAwareClassifier({ sampleSize: 8, inChannels: 1, blockOutChannels: [4], layersPerBlock: 1, normNumGroups: 2, numClasses: 2 });
  const cases: [DDIMPipeline | DDPMPipeline, GenerateOptions, RegExp][] = [
    [ddpm, { classLabels: [0], numInferenceSteps: 101 }, /numInferenceSteps \(101\) cannot be larger than numTrainTimesteps \(100\)/],
    [ddpm, { classLabels: [3] }, /classLabels\[0\] is 3: labels are integers from 0 to 2/],
    [ddpm, { classLabels: [-1] }, /classLabels\[0\] is -1: labels are integers from 0 to 2/],
    [ddpm, {}, /the model is class-conditional \(3 classes\): give classLabels, one per sample/],
    [ddpm, { batchSize: 2, classLabels: [0] }, /1 classLabels for batchSize 2/],
    [ddpm, { classLabels: [0], eta: 0.5 }, /eta is an option of DDIM sampling \(DDIMPipeline\), not of DDPMPipeline/],
    [ddpm, { classLabels: [0], useClippedModelOutput: false }, /useClippedModelOutput is an option of DDIM sampling/],
    [plain, { useClippedModelOutput: 1 as unknown as boolean }, /useClippedModelOutput must be true or false, got 1/],
    [ddpm, { classLabels: [0], guidanceScale: Number.NaN }, /guidanceScale must be a finite number/],
    [ddpm, { classLabels: [0], batchSize: 0 }, /batchSize must be a positive integer, got 0/],
    [ddpm, { classLabels: [0], seed: -1 }, /seed must be a non-negative safe integer, got -1/],
    [ddpm, { classLabels: [0], steps: 3 } as GenerateOptions, /unknown option 'steps'; options are batchSize, numInferenceSteps/],
    [plain, { guidanceScale: 2 }, /guidanceScale 2 needs a class-conditional model/],
    [plain, { classLabels: [0] }, /classLabels were given, but the model is unconditional and no classifier was given/],
    [plain, { classifier }, /classifier guidance needs classLabels/],
    [plain, { classLabels: [0], classifier: wrongShape }, /the classifier reads \[1, 8, 8\] samples, the model makes \[2, 8, 8\]/],
    [guidedConditional, { classLabels: [3], classifier }, /class label 3 is out of range for the classifier: it tells 3 classes apart \(0\.\.2\)/],
  ];
  for (const [pipeline, options, message] of cases) {
    const error = await pipeline.generate(options).then(() => null, (e: Error) => e);
    assert.ok(error, `${JSON.stringify(options)} must be refused`);
    assert.match(error!.message, message);
  }
});

test.run();
