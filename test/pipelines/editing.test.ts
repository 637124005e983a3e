// Editing through the pipelines' one loop: img2img with every scheduler and RePaint inpainting against loops
// written out by hand (bit for bit), the seed-and-index addressing of their noise (batches with firstSample give
// the same images), the pixels RePaint keeps, DDIM inversion and interpolation, slerp, and bad options.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMPipeline, DDIMScheduler, DDPMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
  EulerDiscreteScheduler, HeunDiscreteScheduler, img2imgStart, init, interpolate, memoryStats, ops, RePaintPipeline, RePaintScheduler,
  slerp, Tensor, tidy, UniPCMultistepScheduler, UNet2DModel, type GenerateOptions, type PipelineScheduler,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { SigmaScheduler } from '../../bindings/schedulers/sigma-scheduler.ts';

await init();

const SHAPE = [2, 8, 8];
const model = new UNet2DModel({
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2,
}, 4);
const schedule = { numTrainTimesteps: 100, predictionType: 'v_prediction' } as const;
const pattern = (n: number, phase: number) => Tensor.from(Float32Array.from({ length: n * 128 }, (_, i) => Math.fround(((i * 37 + phase) % 41) / 20 - 1)), [n, ...SHAPE]);
const bits = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer));
const take = async (promise: Promise<Tensor>) => { const t = await promise; try { return t.toFloat32Array(); } finally { t.dispose(); } };

const SCHEDULERS: [string, () => PipelineScheduler][] = [
  ['DDPM', () => new DDPMScheduler(schedule)],
  ['DDIM', () => new DDIMScheduler(schedule)],
  ['DPM-Solver++ 2M Karras', () => new DPMSolverMultistepScheduler({ ...schedule, useKarrasSigmas: true })],
  ['SDE-DPM-Solver++', () => new DPMSolverMultistepScheduler({ ...schedule, algorithmType: 'sde-dpmsolver++' })],
  ['UniPC', () => new UniPCMultistepScheduler(schedule)],
  ['Euler', () => new EulerDiscreteScheduler(schedule)],
  ['Euler ancestral', () => new EulerAncestralDiscreteScheduler(schedule)],
  ['Heun', () => new HeunDiscreteScheduler({ ...schedule, betaStart: 0.0001, betaEnd: 0.02 })],
];

/** img2img written out: diffusers' get_timesteps, addNoise of the image with the initial-noise stream, the loop. */
function handImg2Img(s: PipelineScheduler, image: Tensor, steps: number, strength: number, seed: number): Float32Array {
  return tidy(() => {
    s.setTimesteps(steps);
    const { begin } = img2imgStart('test', steps, strength, s.order);
    const timesteps = Array.from(s.timesteps.subarray(begin));
    if (s instanceof SigmaScheduler) s.setBeginIndex(begin);
    const N = image.shape[0];
    let x = s.addNoise(image, ops.randn(image.shape, { seed, stream: STREAMS.initialNoise }), new Array(N).fill(timesteps[0]));
    const options = Object.fromEntries(Object.entries({ seed, useClippedModelOutput: true }).filter(([k]) => s.stepOptionNames.includes(k)));
    for (const t of timesteps) {
      const output = model.forward(s.scaleModelInput(x, t), new Int32Array(N).fill(s.modelTimestep(t)));
      x = (s as DDIMScheduler).step(output, t, x, options).prevSample;
    }
    s.reset();
    return x.toFloat32Array();
  });
}

test('img2img with every scheduler: the pipeline is the loop written out, bit for bit; strength 1 starts at the first timestep', async () => {
  const image = pattern(2, 3);
  for (const [name, make] of SCHEDULERS) {
    for (const [steps, strength] of [[6, 0.5], [5, 1]]) {
      const expected = handImg2Img(make(), image, steps, strength, 9);
      const ours = await take(new DiffusionPipeline({ model, scheduler: make() }).generate({ image, strength, numInferenceSteps: steps, batchSize: 2, seed: 9 }));
      assert.equal(Array.from(new Uint32Array(ours.buffer)), Array.from(new Uint32Array(expected.buffer)), `${name}, ${steps} steps, strength ${strength}`);
    }
  }
  image.dispose();
});

test('img2img: stronger edits move further from the image; one image serves a batch; firstSample batches give the same images', async () => {
  const image = pattern(1, 5);
  const pipe = () => new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler(schedule) });
  const distance = async (strength: number) => {
    const out = await take(pipe().generate({ image, strength, numInferenceSteps: 10, seed: 1 }));
    const x = image.toFloat32Array();
    return Math.sqrt(out.reduce((sum, v, i) => sum + (v - x[i]) ** 2, 0) / out.length);
  };
  const [near, far] = [await distance(0.2), await distance(0.9)];
  assert.ok(near < far, `strength 0.2 ends ${near} from the image, 0.9 ${far}`);
  const whole = await take(pipe().generate({ image, strength: 0.6, numInferenceSteps: 10, batchSize: 3, seed: 4 }));
  const second = await take(pipe().generate({ image, strength: 0.6, numInferenceSteps: 10, batchSize: 1, seed: 4, firstSample: 1 }));
  assert.equal(Array.from(second), Array.from(whole.subarray(128, 256)), 'sample 1 of the run, alone');
  assert.not.equal(Array.from(whole.subarray(0, 128)), Array.from(whole.subarray(128, 256)), 'each sample has its own noise');
  image.dispose();
});

/** RePaint written out (diffusers' RePaintPipeline loop) with the scheduler's own noise from the seed. */
function handRePaint(image: Tensor, mask: Tensor, steps: number, jumpLength: number, jumpNSample: number, eta: number, seed: number): Float32Array {
  return tidy(() => {
    const s = new RePaintScheduler(schedule);
    s.setTimesteps(steps, jumpLength, jumpNSample);
    const N = image.shape[0];
    let x = ops.randn(image.shape, { seed, stream: STREAMS.initialNoise });
    let last = s.timesteps[0] + 1;
    for (const t of s.timesteps) {
      x = t < last
        ? s.step(model.forward(x, new Int32Array(N).fill(t)), t, x, { originalImage: image, mask, eta, seed }).prevSample
        : s.undoStep(x, last, { seed });
      last = t;
    }
    return x.toFloat32Array();
  });
}

test('RePaint inpainting: the loop written out, bit for bit; kept pixels exact; a mask of one channel and one image serve the batch', async () => {
  const image = pattern(2, 7);
  const maskValues = Float32Array.from({ length: 2 * 64 }, (_, i) => (i % 9 < 4 ? 1 : 0));
  const mask = Tensor.from(maskValues, [2, 1, 8, 8]);
  const full = Tensor.from(Float32Array.from({ length: 2 * 128 }, (_, i) => maskValues[Math.floor(i / 128) * 64 + (i % 64)]), [2, ...SHAPE]);
  const expected = handRePaint(image, full, 10, 3, 2, 0.7, 6);
  const pipe = () => new RePaintPipeline({ model, scheduler: new RePaintScheduler(schedule) });
  const options = { image, maskImage: mask, batchSize: 2, numInferenceSteps: 10, jumpLength: 3, jumpNSample: 2, eta: 0.7, seed: 6 };
  const ours = await take(pipe().generate(options));
  assert.equal(Array.from(new Uint32Array(ours.buffer)), Array.from(new Uint32Array(expected.buffer)));
  const x = image.toFloat32Array();
  let kept = 0;
  ours.forEach((v, i) => { if (full.toFloat32Array()[i] === 1) { assert.is(v, x[i], `kept pixel ${i}`); kept++; } });
  assert.ok(kept > 50 && kept < 200, `${kept} pixels kept`);
  // Masks are binarised at 0.5: 0.3 paints, 0.6 keeps.
  const soft = Tensor.from(maskValues.map((m) => (m ? 0.6 : 0.3)), [2, 1, 8, 8]);
  assert.equal(await take(pipe().generate({ ...options, maskImage: soft })), ours);
  // One image and one mask for a batch of 3: item 1 of the batch is the run's item 1 alone (firstSample 1).
  const one = pattern(1, 7), oneMask = Tensor.from(maskValues.subarray(0, 64), [1, 1, 8, 8]);
  const batch = await take(pipe().generate({ ...options, image: one, maskImage: oneMask, batchSize: 3 }));
  const alone = await take(pipe().generate({ ...options, image: one, maskImage: oneMask, batchSize: 1, firstSample: 1 }));
  assert.equal(Array.from(alone), Array.from(batch.subarray(128, 256)));
  for (const t of [image, mask, full, soft, one, oneMask]) t.dispose();
});

test('DDIM inversion: deterministic, and DDIM sampling from the inverted latents draws the image back (more steps, closer)', async () => {
  const pipe = new DDIMPipeline({ model, scheduler: new DDIMScheduler({ ...schedule, clipSample: false }) });
  // An image the model itself draws (inversion is exact only where the model's ODE passes).
  const image = await pipe.generate({ numInferenceSteps: 50, seed: 3, batchSize: 2 });
  const roundTrip = async (steps: number) => {
    const latents = await pipe.invert({ image, numInferenceSteps: steps });
    const again = await pipe.invert({ image, numInferenceSteps: steps });
    assert.equal(bits(latents), bits(again), 'inversion is deterministic');
    again.dispose();
    const back = await take(pipe.generate({ latents, numInferenceSteps: steps, batchSize: 2 }));
    latents.dispose();
    const x = image.toFloat32Array();
    return Math.sqrt(back.reduce((sum, v, i) => sum + (v - x[i]) ** 2, 0) / back.length);
  };
  const [coarse, fine] = [await roundTrip(10), await roundTrip(50)];
  console.log(`  round trip RMS error (untrained tiny U-Net): 10 steps ${coarse.toExponential(2)}, 50 steps ${fine.toExponential(2)}`);
  assert.ok(fine < coarse, `50 steps (${fine}) should come closer than 10 (${coarse})`);
  assert.ok(fine < 0.04, `50-step round trip RMS error ${fine} (measured 1.8e-2)`);
  image.dispose();
});

test('interpolate: the end frames are the two seeds\' samples bit for bit; slerp keeps Gaussian norms, lerp would not', async () => {
  const pipe = new DDIMPipeline({ model, scheduler: new DDIMScheduler(schedule) });
  const frames = await take(interpolate(pipe, { from: { seed: 11 }, to: { seed: 12 }, frames: 5, numInferenceSteps: 8 }));
  for (const [seed, frame] of [[11, 0], [12, 4]]) {
    const alone = await take(pipe.generate({ seed, numInferenceSteps: 8 }));
    assert.equal(Array.from(frames.subarray(frame * 128, (frame + 1) * 128)), Array.from(alone), `frame ${frame} is seed ${seed}'s sample`);
  }
  const [a, b] = [pipe.prepareLatents({ seed: 11 }), pipe.prepareLatents({ seed: 12 })];
  const path = slerp(a, b, [0, 0.5, 1]);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const values = path.toFloat32Array();
  assert.equal(Array.from(values.subarray(0, 128)), Array.from(a.toFloat32Array()), 'weight 0 gives a exactly');
  assert.equal(Array.from(values.subarray(256)), Array.from(b.toFloat32Array()), 'weight 1 gives b exactly');
  const [na, nm, nb] = [norm(a.toFloat32Array()), norm(values.subarray(128, 256)), norm(b.toFloat32Array())];
  const lerp = norm(a.toFloat32Array().map((x, i) => (x + b.toFloat32Array()[i]) / 2));
  assert.ok(Math.abs(nm - (na + nb) / 2) < 0.05 * nm, `slerp's midpoint norm ${nm} between ${na} and ${nb}`);
  assert.ok(lerp < 0.8 * nm, `lerp's midpoint norm ${lerp} shrinks`);
  // Against a float64 reference of the formula.
  const av = a.toFloat32Array(), bv = b.toFloat32Array();
  const dot = av.reduce((s, x, i) => s + x * bv[i], 0);
  const theta = Math.acos(dot / (norm(av) * norm(bv)));
  values.subarray(128, 256).forEach((v, i) => {
    const reference = (Math.sin(theta / 2) * (av[i] + bv[i])) / Math.sin(theta);
    assert.ok(Math.abs(v - reference) < 1e-6, `midpoint element ${i}: ${v} vs ${reference}`);
  });
  for (const t of [a, b, path]) t.dispose();
});

test('interpolate between two images through their inversions: the end frames come back close to the images', async () => {
  const pipe = new DDIMPipeline({ model, scheduler: new DDIMScheduler({ ...schedule, clipSample: false }) });
  const drawn = await pipe.generate({ numInferenceSteps: 30, seed: 21, batchSize: 2 });
  const [first, last] = [drawn.subview(0, [1, ...SHAPE]), drawn.subview(128, [1, ...SHAPE])];
  const frames = await take(interpolate(pipe, { from: { image: first }, to: { image: last }, frames: 3, numInferenceSteps: 30 }));
  const x = drawn.toFloat32Array();
  const rms = (from: number, to: number) => Math.sqrt(frames.subarray(from, from + 128).reduce((s, v, i) => s + (v - x[to + i]) ** 2, 0) / 128);
  assert.ok(rms(0, 0) < 0.05 && rms(256, 128) < 0.05, `end frames ${rms(0, 0)}, ${rms(256, 128)} from their images`);
  assert.ok(rms(128, 0) > 2 * rms(0, 0), 'the middle frame is neither end');
  drawn.dispose();
});

test('interpolate with guidance inverts an image end with the same guided model: its frame is the guided sample of that inversion', async () => {
  const conditional = new UNet2DModel({ sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [], numClassEmbeds: 3 }, 5);
  const pipe = new DDIMPipeline({ model: conditional, scheduler: new DDIMScheduler({ ...schedule, clipSample: false }) });
  const image = pattern(1, 5);
  const options = { numInferenceSteps: 6, classLabels: [2], guidanceScale: 3 };
  const frames = await take(interpolate(pipe, { from: { image }, to: { seed: 4 }, frames: 2, ...options, classLabels: [2, 2] }));
  const guided = await pipe.invert({ image, ...options });
  const unguided = await pipe.invert({ image, numInferenceSteps: 6, classLabels: [2] });
  assert.not.equal(bits(guided), bits(unguided), 'guidance changes the inversion');
  const alone = await take(pipe.generate({ latents: guided, ...options }));
  assert.equal(Array.from(frames.subarray(0, 128)), Array.from(alone), 'frame 0 samples the guided inversion');
  for (const t of [image, guided, unguided]) t.dispose();
});

test('bad editing options: one line naming the option, the value and what is allowed; nothing is left allocated', async () => {
  const image = pattern(1, 1), mask = Tensor.from(new Float32Array(64).fill(1), [1, 1, 8, 8]);
  const ddim = new DDIMPipeline({ model, scheduler: new DDIMScheduler(schedule) });
  const repaint = new RePaintPipeline({ model, scheduler: new RePaintScheduler(schedule) });
  const cases: [DiffusionPipeline, GenerateOptions, RegExp][] = [
    [ddim, { image, strength: 0 }, /DDIMPipeline.generate: strength must be a number in \(0, 1\] \(how far the image is noised; 1 = from noise\), got 0$/],
    [ddim, { image, strength: 1.5 }, /strength must be a number in \(0, 1\].*got 1.5/],
    [ddim, { image, strength: Number.NaN }, /strength must be a number in \(0, 1\].*got NaN/],
    [ddim, { strength: 0.5 }, /strength is an option of img2img \(image without maskImage\)/],
    [ddim, { image, strength: 0.05, numInferenceSteps: 10 }, /strength 0.05 of numInferenceSteps 10 runs no step \(floor\(10 · 0.05\) = 0\): raise strength to at least 0.1 or numInferenceSteps to at least 20/],
    [ddim, { image: pattern(1, 0).subview(0, [1, 2, 4, 16]) }, /image must be \[1 or 1, 2, 8, 8\] \(the model's samples\), got \[1, 2, 4, 16\]/],
    [ddim, { image: Tensor.zeros([3, 2, 8, 8]), batchSize: 2 }, /image must be \[2 or 1, 2, 8, 8\].*got \[3, 2, 8, 8\]/],
    [ddim, { image: Tensor.from(new Float32Array(128).fill(Number.NaN), [1, 2, 8, 8]) }, /image has 128 values that are NaN or infinite/],
    [ddim, { image, latents: Tensor.zeros([1, 2, 8, 8]) }, /latents and image exclude each other/],
    [ddim, { image, maskImage: mask }, /maskImage \(inpainting\) needs a RePaintScheduler \(RePaintPipeline\), not DDIMScheduler/],
    [ddim, { jumpLength: 3 }, /jumpLength is an option of inpainting with a RePaintScheduler, not of DDIMScheduler/],
    // Present as undefined, an option replaces its default: editing's checks (loaded for calls that edit) still see it.
    [ddim, { strength: undefined }, /DDIMPipeline.generate: strength must be a number in \(0, 1\].*got undefined$/],
    [ddim, { jumpNSample: undefined }, /DDIMPipeline.generate: jumpNSample must be an integer >= 1, got undefined$/],
    [repaint, { image }, /RePaintScheduler inpaints: give image and maskImage \(1 keeps a pixel, 0 paints it\)/],
    [repaint, { image, maskImage: Tensor.zeros([1, 3, 8, 8]) }, /maskImage must be \[1 or 1, 1 or 2, 8, 8\] \(1 keeps a pixel, 0 paints it\), got \[1, 3, 8, 8\]/],
    [repaint, { image, maskImage: mask, strength: 0.5 }, /strength is an option of img2img.*RePaint inpainting runs its whole schedule/],
    [repaint, { image, maskImage: mask, jumpLength: 0 }, /jumpLength must be an integer >= 1, got 0/],
    [repaint, { image, maskImage: mask, jumpNSample: 2.5 }, /jumpNSample must be an integer >= 1, got 2.5/],
    [repaint, { image, maskImage: mask, generator: 'torch', seeds: [1] }, /seeds \(one generator per image\) is not for inpainting/],
    [repaint, { image, maskImage: mask, eta: -1 }, /eta must be a finite number >= 0, got -1/],
  ];
  const before = memoryStats().liveBytes;
  for (const [pipe, options, message] of cases) {
    const error = await pipe.generate({ numInferenceSteps: 4, ...options }).then(() => null, (e: Error) => e);
    assert.match(error?.message ?? 'no error', message);
    assert.not.match(error!.message, /\n/, 'one line');
  }
  assert.is(memoryStats().liveBytes, before, 'nothing left allocated by the failed calls');
  const invert = async (options: object, message: RegExp) => {
    const error = await ddim.invert(options as never).then(() => null, (e: Error) => e);
    assert.match(error?.message ?? 'no error', message);
  };
  await invert({}, /DDIMPipeline.invert: image is required/);
  await invert({ image, eta: 1 }, /unknown option 'eta'; options are image, numInferenceSteps/);
  const dpm = new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler(schedule) });
  const error = await dpm.invert({ image }).then(() => null, (e: Error) => e);
  assert.match(error?.message ?? '', /spaces its timesteps 'linspace', which DDIM inversion does not take: pass inverseScheduler/);
  assert.throws(() => slerp(image, Tensor.zeros([1, 2, 8, 8]), [0.5]), /slerp: b is all zeros/);
  await interpolate(ddim, { from: { seed: 1 }, to: { seed: 2 }, frames: 1 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /frames must be an integer >= 2, got 1/));
  image.dispose();
  mask.dispose();
});

test.run();
