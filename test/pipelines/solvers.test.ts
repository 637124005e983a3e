// DiffusionPipeline with the fast solvers: the loop against one written by hand (initNoiseSigma, scaleModelInput,
// the model's integer timestep, guidance on the model output), caller-supplied latents, samples independent of
// the batch size for the stochastic solvers, classifier guidance through the step's sigma, memory, bad options.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  classifierGradient, DDIMPipeline, DDIMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
  EulerDiscreteScheduler, HeunDiscreteScheduler, init, memoryStats, NoiseAwareClassifier, ops, Tensor, tidy, UNet2DModel,
  UniPCMultistepScheduler, type GenerateOptions, type PipelineScheduler,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose } from '../helpers.ts';

await init();

const CLASSES = 3;
const model = new UNet2DModel({
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4],
  numHeads: 2, numClassEmbeds: CLASSES, resnetTimeScaleShift: 'scale_shift',
}, 1);
const classifier = new NoiseAwareClassifier({
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [], numClasses: CLASSES,
}, 3);
const labels = Int32Array.from([2, 0, 1]);
const N = labels.length;
const schedule = { numTrainTimesteps: 100, predictionType: 'v_prediction' } as const;

const SOLVERS: [string, () => PipelineScheduler][] = [
  ['DPM-Solver++ 2M Karras', () => new DPMSolverMultistepScheduler({ ...schedule, useKarrasSigmas: true })],
  ['DPM-Solver++ 3M', () => new DPMSolverMultistepScheduler({ ...schedule, solverOrder: 3 })],
  ['SDE-DPM-Solver++', () => new DPMSolverMultistepScheduler({ ...schedule, algorithmType: 'sde-dpmsolver++' })],
  ['UniPC', () => new UniPCMultistepScheduler(schedule)],
  ['Euler', () => new EulerDiscreteScheduler(schedule)],
  ['Euler ancestral', () => new EulerAncestralDiscreteScheduler(schedule)],
  ['Heun Karras', () => new HeunDiscreteScheduler({ ...schedule, betaStart: 0.0001, betaEnd: 0.02, useKarrasSigmas: true })],
];

const values = async (pipeline: DiffusionPipeline, options: GenerateOptions) => {
  const x = await pipeline.generate(options);
  const out = x.toFloat32Array();
  x.dispose();
  return out;
};
const fill = (t: number) => new Int32Array(N).fill(t);
const guided = (x: Tensor, t: number, w: number) => {
  const cond = model.forward(x, fill(t), labels).toFloat32Array();
  const uncond = model.forward(x, fill(t), fill(CLASSES)).toFloat32Array();
  return Tensor.from(uncond.map((u, i) => u + w * (cond[i] - u)), x.shape);
};

/** The sampling loop written out as diffusers' pipelines write it. */
function handWritten(s: PipelineScheduler, steps: number, seed: number, output: (x: Tensor, t: number) => Tensor): Float32Array {
  return tidy(() => {
    s.setTimesteps(steps);
    const z = ops.randn([N, 2, 8, 8], { seed, stream: STREAMS.initialNoise });
    let x = Tensor.from(z.toFloat32Array().map((v) => v * s.initNoiseSigma), z.shape);
    for (const t of s.timesteps) {
      const out = output(s.scaleModelInput(x, t), s.modelTimestep(t));
      const options = s instanceof UniPCMultistepScheduler || s instanceof HeunDiscreteScheduler ? {} : { seed };
      x = (s as DPMSolverMultistepScheduler).step(out, t, x, options).prevSample;
    }
    s.reset();
    return x.toFloat32Array();
  });
}

for (const [name, make] of SOLVERS) {
  test(`${name}: the pipeline is the hand-written loop, with classifier-free guidance on the model output`, async () => {
    const options = { batchSize: N, numInferenceSteps: 6, seed: 4, classLabels: labels, guidanceScale: 2.5 };
    const sampled = await values(new DiffusionPipeline({ model, scheduler: make() }), options);
    // The guided output is formed in float64 here and in float32 in the pipeline: a few ulps apart.
    assertClose(sampled, handWritten(make(), 6, 4, (x, t) => guided(x, t, 2.5)), { atol: 2e-5, rtol: 2e-5 }, name);
    assert.ok(sampled.every(Number.isFinite));
  });
}

test('the model is asked at integer timesteps: Euler with linspace spacing rounds its fractional ones', async () => {
  const s = new EulerDiscreteScheduler(schedule);
  s.setTimesteps(9);
  assert.ok(!Number.isInteger(s.timesteps[1]), `fractional timestep ${s.timesteps[1]}`);
  const seen: number[] = [];
  const spy = Object.create(model, { forward: { value: (x: Tensor, t: Int32Array, y: Int32Array) => { seen.push(t[0]); return model.forward(x, t, y); } } });
  await (await new DiffusionPipeline({ model: spy, scheduler: s }).generate({ batchSize: N, numInferenceSteps: 9, classLabels: labels })).dispose();
  assert.equal(seen, Array.from(s.timesteps, (t) => Math.round(t)));
});

test('latents: the given noise replaces the seeded x_T (scaled by initNoiseSigma), and is left as it was', async () => {
  const latents = ops.randn([N, 2, 8, 8], { seed: 11, stream: STREAMS.initialNoise });
  const before = latents.toFloat32Array();
  for (const make of [() => new DDIMScheduler(schedule), () => new EulerDiscreteScheduler(schedule)]) {
    const pipeline = new DiffusionPipeline({ model, scheduler: make() });
    const fromSeed = await values(pipeline, { batchSize: N, numInferenceSteps: 5, seed: 11, classLabels: labels });
    const fromLatents = await values(pipeline, { batchSize: N, numInferenceSteps: 5, seed: 11, classLabels: labels, latents });
    assert.equal(fromLatents, fromSeed);
    // Deterministic samplers: with latents given, the seed changes nothing.
    assert.equal(await values(pipeline, { batchSize: N, numInferenceSteps: 5, seed: 12, classLabels: labels, latents }), fromSeed);
  }
  assert.equal(latents.toFloat32Array(), before);
  assert.ok(!latents.isDisposed);
  latents.dispose();
});

for (const [name, make] of [SOLVERS[2], SOLVERS[5]]) {
  test(`${name}: a sample depends on its seed and index, not on the batch size (every step's noise included)`, async () => {
    const pipeline = new DiffusionPipeline({ model, scheduler: make() });
    const three = await values(pipeline, { batchSize: 3, numInferenceSteps: 8, seed: 5, classLabels: [1, 2, 0] });
    const one = await values(pipeline, { batchSize: 1, numInferenceSteps: 8, seed: 5, classLabels: [1] });
    assert.equal(three.subarray(0, one.length), one);
    const otherSeed = await values(pipeline, { batchSize: 1, numInferenceSteps: 8, seed: 6, classLabels: [1] });
    assert.not.equal(otherSeed, one);
  });
}

test('classifier guidance with a sigma-based solver shifts eps by -s sqrt(1 - ab) grad, ab from the step sigma', async () => {
  const s = 3;
  const make = () => new EulerAncestralDiscreteScheduler({ numTrainTimesteps: 100 });
  const sampled = await values(new DiffusionPipeline({ model, scheduler: make() }), {
    batchSize: N, numInferenceSteps: 5, seed: 2, classLabels: labels, classifier, classifierScale: s,
  });
  const scheduler = make();
  const expected = handWritten(scheduler, 5, 2, (x, t) => {
    const eps = model.forward(x, fill(t), labels).toFloat32Array();
    const g = classifierGradient(classifier, x, fill(t), labels).toFloat32Array();
    const sigma = scheduler.sigmas[scheduler.stepIndex ?? 0];
    const k = -s * Math.sqrt(1 - 1 / (sigma * sigma + 1));
    return Tensor.from(eps.map((e, i) => e + k * g[i]), x.shape);
  });
  assertClose(sampled, expected, { atol: 2e-5, rtol: 2e-5 }, 'Euler ancestral, epsilon');
  const unguided = await values(new DiffusionPipeline({ model, scheduler: make() }), { batchSize: N, numInferenceSteps: 5, seed: 2, classLabels: labels });
  assert.ok(sampled.some((v, i) => Math.abs(v - unguided[i]) > 1e-3), 'the guidance changes the samples');
});

test('memory: a multistep solver frees what it remembered when generate returns', async () => {
  const pipeline = new DiffusionPipeline({ model, scheduler: new UniPCMultistepScheduler({ ...schedule, solverOrder: 3 }) });
  await values(pipeline, { batchSize: N, numInferenceSteps: 4, classLabels: labels }); // warm the allocator
  const before = memoryStats().liveBytes;
  await values(pipeline, { batchSize: N, numInferenceSteps: 6, classLabels: labels });
  assert.is(memoryStats().liveBytes, before);
});

test('bad options: latents of the wrong shape, DDIM options with another scheduler', async () => {
  const euler = new DiffusionPipeline({ model, scheduler: new EulerDiscreteScheduler(schedule) });
  const cases: [GenerateOptions, RegExp][] = [
    [{ batchSize: N, classLabels: labels, latents: Tensor.zeros([N, 2, 4, 4]) }, /DiffusionPipeline.generate: latents must have the shape of \[batchSize, \.\.\.model\.sampleShape\]: \[batchSize, \.\.\.model\.sampleShape\] \[3, 2, 8, 8\], latents \[3, 2, 4, 4\]/],
    [{ batchSize: N, classLabels: labels, latents: [1, 2] as unknown as Tensor }, /DiffusionPipeline.generate: latents must be a Tensor/],
    [{ batchSize: N, classLabels: labels, eta: 1 }, /eta is an option of DDIM sampling \(DDIMPipeline\), not of DiffusionPipeline with EulerDiscreteScheduler/],
  ];
  for (const [options, message] of cases) {
    const error = await euler.generate(options).then(() => null, (e: Error) => e);
    assert.ok(error, `${JSON.stringify(Object.keys(options))} must be refused`);
    assert.match(error!.message, message);
  }
  // A DDIMPipeline still samples as before with a DDIMScheduler built by fromConfig from another scheduler's config.
  const pipe = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig({ ...schedule, varianceType: 'fixed_small', useKarrasSigmas: true }) });
  assert.is((await values(pipe, { batchSize: N, numInferenceSteps: 3, classLabels: labels })).length, N * 128);
});

test.run();
