// Editing loops against the real diffusers v0.27.2 (test/fixtures/editing-loops.json, made by
// scripts/fixtures/editing.py), with the toy model of the scheduler fixtures and PyTorch's CPU generator
// (ops.TorchGenerator, bit-exact) for every noise:
// - img2img: where the run starts (diffusers' own get_timesteps: the timesteps and the step count), the
//   scheduler's addNoise of the image there (VP for DDPM, DDIM, DPM-Solver, UniPC; x0 + sigma·noise for Euler and
//   Heun, at the sigma of the begin index), and the loop from there, for every scheduler;
// - RePaint: set_timesteps with jumps (exact), and full loops of steps and undo steps;
// - DDIM inversion: the rising timesteps (exact) and the loops.
// Tolerances, as in diffusers-loops.test.ts, are of the sample's scale, 2-3 times the largest difference
// measured (in brackets): diffusers computes its schedule in float32.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { img2imgStart, init, ops, Tensor, tidy } from '../../bindings/index.ts';
import * as schedulers from '../../bindings/schedulers/index.ts';
import { SigmaScheduler } from '../../bindings/schedulers/sigma-scheduler.ts';
import { roundHalfEven } from '../../bindings/schedulers/timesteps.ts';
import { decodeFloat32 } from '../helpers.ts';
import { relativeError, toyModel, toyWeights } from './toy-model.ts';

await init();

const fixture = JSON.parse(readFileSync(new URL('../fixtures/editing-loops.json', import.meta.url), 'utf8'));
const decode = decodeFloat32;
const SHAPE: number[] = fixture.shape;
const IMAGE = decode(fixture.image), MASK = decode(fixture.mask);
const W = toyWeights(IMAGE.length);


type Loopable = schedulers.DDPMScheduler;
const CLASSES: Record<string, new (options: never) => Loopable> = {
  DDPMScheduler: schedulers.DDPMScheduler, DDIMScheduler: schedulers.DDIMScheduler, DPMSolverMultistepScheduler: schedulers.DPMSolverMultistepScheduler,
  UniPCMultistepScheduler: schedulers.UniPCMultistepScheduler, EulerDiscreteScheduler: schedulers.EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler: schedulers.EulerAncestralDiscreteScheduler, HeunDiscreteScheduler: schedulers.HeunDiscreteScheduler,
} as never;

/** Of the sample's scale, per scheduler (largest measured in brackets). */
const IMG2IMG_TOLERANCE: Record<string, number> = {
  DDPMScheduler: 1e-5, // (2.0e-6)
  DDIMScheduler: 1e-5, // (1.7e-6)
  DPMSolverMultistepScheduler: 6e-5, // (2.2e-5)
  UniPCMultistepScheduler: 1e-5, // (9.4e-7)
  EulerDiscreteScheduler: 8e-5, // (3.0e-5: Karras sigmas' fractional timesteps, found from float32 log sigmas)
  EulerAncestralDiscreteScheduler: 1e-5, // (1.4e-6)
  HeunDiscreteScheduler: 1e-5, // (1.7e-6)
};
const REPAINT_TOLERANCE = 1e-5; // (3.1e-6)
/**
 * DDIM inversion, by prediction type: x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) late in the rise, and for 'sample'
 * eps = (x - sqrt(ab) x0) / sqrt(1 - ab) early, divide diffusers' float32 rounding by small numbers.
 */
const INVERSE_TOLERANCE: Record<string, number> = { epsilon: 4e-5 /* (1.7e-5) */, v_prediction: 1e-5 /* (1.8e-6) */, sample: 3e-4 /* (1.2e-4) */ };

interface Img2ImgCase {
  name: string; scheduler: string; config: Record<string, unknown>; steps: number; strength: number; seed: number;
  stepOptions: Record<string, number>; timesteps: number[]; count: number; start: string; samples: string[];
}

const measured: Record<string, number> = {};
const record = (key: string, error: number) => { measured[key] = Math.max(measured[key] ?? 0, error); };

for (const c of fixture.img2img as Img2ImgCase[]) {
  test(`img2img ${c.scheduler}: ${c.name}`, () => tidy(() => {
    const s = new CLASSES[c.scheduler](c.config as never);
    s.setTimesteps(c.steps);
    const { begin, steps } = img2imgStart('test', c.steps, c.strength, s.order);
    assert.is(steps, c.count, 'step count (get_timesteps)');
    const timesteps = Array.from(s.timesteps.subarray(begin));
    // Integer timesteps are equal; fractional ones (Karras sigmas) close, with the same model timestep.
    assert.is(timesteps.length, c.timesteps.length, 'timesteps from the begin index');
    timesteps.forEach((t, i) => {
      if (Number.isInteger(c.timesteps[i])) assert.is(t, c.timesteps[i], `timesteps[${i}]`);
      else assert.ok(Math.abs(t - c.timesteps[i]) <= 1e-2 && roundHalfEven(t) === roundHalfEven(c.timesteps[i]), `timesteps[${i}]: ${t} vs ${c.timesteps[i]}`);
    });
    if (s instanceof SigmaScheduler) s.setBeginIndex(begin);
    const generator = new ops.TorchGenerator(BigInt(c.seed));
    let x = s.addNoise(Tensor.from(IMAGE, SHAPE), generator.randn(SHAPE), new Array(SHAPE[0]).fill(timesteps[0]));
    const tolerance = IMG2IMG_TOLERANCE[c.scheduler];
    const startError = relativeError(x.toFloat32Array(), decode(c.start));
    record(c.scheduler, startError);
    assert.ok(startError <= tolerance, `start (addNoise) differs by ${startError.toExponential(2)} (tolerance ${tolerance})`);
    timesteps.forEach((t, k) => {
      const output = toyModel(s.scaleModelInput(x, t), t, 1000, W);
      const noise = (s as unknown as schedulers.DDIMScheduler).drawsNoise(t, c.stepOptions) ? { noise: generator.randn(SHAPE) } : {};
      x = s.step(output, t, x, { ...c.stepOptions, ...noise } as never).prevSample;
      const error = relativeError(x.toFloat32Array(), decode(c.samples[k]));
      record(c.scheduler, error);
      assert.ok(error <= tolerance, `step ${k} (t = ${t}): differs by ${error.toExponential(2)} (tolerance ${tolerance})`);
    });
    s.reset();
  }));
}

interface RePaintTimesteps { numTrainTimesteps: number; numInferenceSteps: number; jumpLength: number; jumpNSample: number; timesteps: number[] }

test('RePaint: setTimesteps(n, jumpLength, jumpNSample) gives diffusers\' schedule exactly', () => {
  for (const c of fixture.repaintTimesteps as RePaintTimesteps[]) {
    const s = new schedulers.RePaintScheduler({ numTrainTimesteps: c.numTrainTimesteps });
    s.setTimesteps(c.numInferenceSteps, c.jumpLength, c.jumpNSample);
    assert.equal(Array.from(s.timesteps), c.timesteps, `n ${c.numInferenceSteps}, jumps ${c.jumpLength} x ${c.jumpNSample}`);
  }
});

interface RePaintCase {
  name: string; config: Record<string, unknown>; steps: number; jumpLength: number; jumpNSample: number; eta: number; seed: number;
  timesteps: number[]; start: string; samples: string[]; predOriginalSamples: string[];
}

for (const c of fixture.repaint as RePaintCase[]) {
  test(`RePaint loop: ${c.name}`, () => tidy(() => {
    const s = new schedulers.RePaintScheduler({ ...c.config, eta: c.eta });
    s.setTimesteps(c.steps, c.jumpLength, c.jumpNSample);
    assert.equal(Array.from(s.timesteps), c.timesteps);
    const T = s.config.numTrainTimesteps;
    const generator = new ops.TorchGenerator(BigInt(c.seed));
    let x = generator.randn(SHAPE);
    assert.equal(x.toFloat32Array(), decode(c.start), 'the generator\'s first draw');
    const originalImage = Tensor.from(IMAGE, SHAPE), mask = Tensor.from(MASK, SHAPE);
    let last = s.timesteps[0] + 1, steps = 0;
    Array.from(s.timesteps).forEach((t, k) => {
      if (t < last) {
        const out = s.step(toyModel(x, t, T, W), t, x, { originalImage, mask, noise: generator.randn(SHAPE) });
        const error = relativeError(out.predOriginalSample.toFloat32Array(), decode(c.predOriginalSamples[steps++]));
        assert.ok(error <= REPAINT_TOLERANCE, `entry ${k} (t = ${t}): predOriginalSample differs by ${error.toExponential(2)}`);
        x = out.prevSample;
      } else {
        x = s.undoStep(x, last, { noise: Array.from({ length: s.jumpStride }, () => generator.randn(SHAPE)) });
      }
      const error = relativeError(x.toFloat32Array(), decode(c.samples[k]));
      record('RePaint', error);
      assert.ok(error <= REPAINT_TOLERANCE, `entry ${k} (t = ${t}, ${t < last ? 'step' : 'undo'}): differs by ${error.toExponential(2)} (tolerance ${REPAINT_TOLERANCE})`);
      last = t;
    });
    // The known pixels of the final sample are the image itself (ab_{t_prev} = 1 after the last step).
    const final = x.toFloat32Array();
    MASK.forEach((m, i) => { if (m === 1) assert.is(final[i], IMAGE[i], `known pixel ${i}`); });
  }));
}

interface InverseCase { name: string; config: Record<string, unknown>; steps: number; timesteps: number[]; samples: string[]; predOriginalSamples: string[] }

for (const c of fixture.inverse as InverseCase[]) {
  test(`DDIM inversion loop: ${c.name}`, () => tidy(() => {
    const s = new schedulers.DDIMInverseScheduler(c.config as never);
    s.setTimesteps(c.steps);
    assert.equal(Array.from(s.timesteps), c.timesteps, 'rising timesteps');
    let x = Tensor.from(IMAGE, SHAPE);
    const tolerance = INVERSE_TOLERANCE[s.config.predictionType];
    Array.from(s.timesteps).forEach((t, k) => {
      const out = s.step(toyModel(x, t, 1000, W), t, x);
      x = out.prevSample;
      for (const [name, ours, theirs] of [['sample', x, c.samples[k]], ['predOriginalSample', out.predOriginalSample, c.predOriginalSamples[k]]] as const) {
        const error = relativeError(ours.toFloat32Array(), decode(theirs));
        record(`DDIMInverse ${s.config.predictionType}`, error);
        assert.ok(error <= tolerance, `step ${k} (t = ${t}): ${name} differs by ${error.toExponential(2)} (tolerance ${tolerance})`);
      }
    });
  }));
}

test('the tolerances are far below the effect of the options the cases vary (> 10x)', () => {
  const final = (list: { name: string; samples: string[] }[], name: string) => {
    const c = list.find((x) => x.name === name);
    assert.ok(c, name);
    return decode(c!.samples[c!.samples.length - 1]);
  };
  const img = fixture.img2img as Img2ImgCase[];
  for (const p of ['epsilon', 'v_prediction']) {
    for (const label of ['DDPM', 'DDIM', 'DPM++ 2M', 'UniPC', 'Euler', 'Heun']) {
      const a = final(img, `${label} ${p}, 10 steps, strength 0.3`), b = final(img, `${label} ${p}, 10 steps, strength 0.7`);
      assert.ok(relativeError(a, b) > 10 * 1e-4, `${label} ${p}: strength 0.3 and 0.7 end ${relativeError(a, b).toExponential(2)} apart`);
    }
  }
  const repaint = fixture.repaint as RePaintCase[];
  const eta = relativeError(final(repaint, '20 steps, jumps of 5 x 3, eta 0'), final(repaint, '20 steps, jumps of 5 x 3, eta 1'));
  assert.ok(eta > 10 * REPAINT_TOLERANCE, `RePaint eta 0 and 1 end ${eta.toExponential(2)} apart`);
});

test.after(() => {
  if (process.env.SHOW_ERRORS) console.log(Object.entries(measured).map(([k, v]) => `${k} ${v.toExponential(2)}`).join('\n'));
});

test.run();
