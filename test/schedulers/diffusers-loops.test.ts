// Full sampling loops against the real diffusers v0.27.2 (test/fixtures/scheduler-loops.json, made by
// scripts/fixtures/schedulers.py): every scheduler x prediction type x the main options, with a toy model both
// sides compute bit for bit and fixed noise for the stochastic steps. Timesteps, sigmas, initNoiseSigma and the
// sample after every step must agree within the tolerances below.
//
// Why not bit for bit: diffusers computes in float32 throughout, its schedule included, where ours is float64
// with each tensor rounded once. Its alphasCumprod is a float32 running product of 1000 factors (about 6e-8
// relative rounding each); 1 - ab near t = 0 is about 1e-4, so sigma = sqrt((1 - ab) / ab) there is only good to
// a few 1e-4 (measured: at most 8.3e-5 relative), and a fractional timestep found from a sigma by interpolating
// float32 log sigmas moves with it (measured: at most 5.5e-3 of a timestep, where log sigma changes slowest).
// The samples carry these and float32 rounding through up to 25 steps; the tolerances (TOLERANCE, per scheduler)
// are 2-3 times the largest difference measured, and the last test checks that they are far tighter than the
// effect of any option the cases vary.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, tidy } from '../../bindings/index.ts';
import * as schedulers from '../../bindings/schedulers/index.ts';
import { roundHalfEven } from '../../bindings/schedulers/timesteps.ts';
import { decodeFloat32 } from '../helpers.ts';
import { relativeError, toyModel, toyWeights } from './toy-model.ts';

await init();

interface LoopCase {
  name: string; scheduler: keyof typeof CLASSES; config: Record<string, unknown>; steps: number; stepOptions: Record<string, number | boolean>;
  stochastic: boolean; timesteps: number[]; sigmas?: number[]; initNoiseSigma: number; samples: string[]; predOriginalSamples?: string[];
}

const CLASSES = {
  DDPMScheduler: schedulers.DDPMScheduler, DDIMScheduler: schedulers.DDIMScheduler,
  DPMSolverMultistepScheduler: schedulers.DPMSolverMultistepScheduler, UniPCMultistepScheduler: schedulers.UniPCMultistepScheduler,
  EulerDiscreteScheduler: schedulers.EulerDiscreteScheduler, EulerAncestralDiscreteScheduler: schedulers.EulerAncestralDiscreteScheduler,
  HeunDiscreteScheduler: schedulers.HeunDiscreteScheduler,
};

const fixture = JSON.parse(readFileSync(new URL('../fixtures/scheduler-loops.json', import.meta.url), 'utf8'));
const decode = decodeFloat32;
const SHAPE: number[] = fixture.shape;
const X_T = decode(fixture.initialSample);
const NOISE: Float32Array[] = fixture.noise.map(decode);
const W = toyWeights(X_T.length);


/** Runs one case through our scheduler; returns every step's sample (and x0) as float32 arrays. */
function runCase(c: LoopCase) {
  return tidy(() => {
    const s = new CLASSES[c.scheduler](c.config as never);
    s.setTimesteps(c.steps);
    const T = s.config.numTrainTimesteps;
    let x = Tensor.from(X_T.map((v) => v * s.initNoiseSigma), SHAPE);
    const samples: Float32Array[] = [], x0s: Float32Array[] = [];
    Array.from(s.timesteps).forEach((t, k) => {
      const output = toyModel(s.scaleModelInput(x, t), t, T, W);
      const options = { ...c.stepOptions, ...(c.stochastic ? { noise: Tensor.from(NOISE[k], SHAPE) } : {}) };
      const { prevSample, predOriginalSample } = (s as schedulers.DDIMScheduler).step(output, t, x, options as never);
      samples.push(prevSample.toFloat32Array());
      x0s.push(predOriginalSample.toFloat32Array());
      x = prevSample;
    });
    const sigmas = 'sigmas' in s ? Array.from((s as schedulers.EulerDiscreteScheduler).sigmas) : null;
    return { timesteps: Array.from(s.timesteps), sigmas, initNoiseSigma: s.initNoiseSigma, samples, x0s };
  });
}

const cases: LoopCase[] = fixture.cases;

test(`the fixture covers every scheduler and prediction type (${cases.length} cases, diffusers ${fixture.diffusers})`, () => {
  for (const name of Object.keys(CLASSES)) {
    for (const p of ['epsilon', 'sample', 'v_prediction']) {
      if (name === 'EulerAncestralDiscreteScheduler' && p === 'sample') continue; // diffusers raises
      assert.ok(cases.some((c) => c.scheduler === name && c.config.predictionType === p), `${name} ${p}`);
    }
  }
});

for (const c of cases) {
  test(`${c.scheduler}: ${c.name}`, () => {
    const ours = runCase(c);
    // Integer timesteps are equal; fractional ones (Euler and Heun) are close and round to the same model timestep.
    assert.is(ours.timesteps.length, c.timesteps.length, 'number of timesteps');
    ours.timesteps.forEach((t, i) => {
      const expected = c.timesteps[i];
      if (Number.isInteger(expected) && Number.isInteger(t)) assert.is(t, expected, `timesteps[${i}]`);
      else assert.ok(Math.abs(t - expected) <= TIMESTEP_TOLERANCE, `timesteps[${i}]: ${t} vs ${expected}`);
      assert.is(roundHalfEven(t), roundHalfEven(expected), `model timestep of timesteps[${i}]`);
    });
    if (c.sigmas) {
      assert.is(ours.sigmas!.length, c.sigmas.length, 'number of sigmas');
      ours.sigmas!.forEach((v, i) => assert.ok(Math.abs(v - c.sigmas![i]) <= SIGMA_TOLERANCE * Math.abs(c.sigmas![i]), `sigmas[${i}]: ${v} vs ${c.sigmas![i]}`));
    }
    assert.ok(Math.abs(ours.initNoiseSigma - c.initNoiseSigma) <= SIGMA_TOLERANCE * c.initNoiseSigma, `initNoiseSigma ${ours.initNoiseSigma} vs ${c.initNoiseSigma}`);
    const tolerance = TOLERANCE[c.scheduler];
    c.samples.forEach((expected, k) => {
      const error = relativeError(ours.samples[k], decode(expected));
      assert.ok(error <= tolerance, `step ${k}: sample differs by ${error.toExponential(2)} of its scale (tolerance ${tolerance})`);
    });
    c.predOriginalSamples?.forEach((expected, k) => {
      const error = relativeError(ours.x0s[k], decode(expected));
      assert.ok(error <= tolerance, `step ${k}: predOriginalSample differs by ${error.toExponential(2)} (tolerance ${tolerance})`);
    });
  });
}

/**
 * Of the sample's scale (its largest |value|, at least 1), with the largest difference measured in brackets:
 * the solvers in lambda or sigma (DPM, UniPC, Euler) step with coefficients whose float32 values in diffusers
 * differ most from float64 (h = lambda_t - lambda_s, e^{-h} - 1, sigma ratios); Heun's second evaluation divides a
 * float32 difference by a small sigma near the end.
 */
const TOLERANCE: Record<keyof typeof CLASSES, number> = {
  DDPMScheduler: 1e-5, // (2.3e-6)
  DDIMScheduler: 1e-5, // (3.5e-6)
  EulerAncestralDiscreteScheduler: 1e-5, // (1.5e-6)
  DPMSolverMultistepScheduler: 6e-5, // (2.8e-5)
  UniPCMultistepScheduler: 8e-5, // (3.5e-5)
  EulerDiscreteScheduler: 5e-5, // (1.9e-5)
  HeunDiscreteScheduler: 3e-4, // (1.4e-4)
};
/** Relative. */
const SIGMA_TOLERANCE = 2e-4;
/** Of a timestep. */
const TIMESTEP_TOLERANCE = 1e-2;

test('the tolerance is far below what any option the cases vary changes: each pair differs by > 10x', () => {
  const final = (name: string) => {
    const c = cases.find((x) => x.name === name);
    assert.ok(c, name);
    return decode(c!.samples[c!.samples.length - 1]);
  };
  const pairs: [string, string][] = [];
  for (const p of ['epsilon', 'sample', 'v_prediction']) {
    pairs.push(
      [`DPM++ ${p} order 1 10 steps`, `DPM++ ${p} order 2 10 steps`], [`DPM++ ${p} order 2 10 steps`, `DPM++ ${p} order 3 10 steps`],
      [`DPM++ ${p} order 2 10 steps`, `DPM++ ${p} order 2 Karras 10 steps`], [`DPM++ ${p} order 2 10 steps`, `DPM++ ${p} order 2 thresholding`],
      [`DPM++ ${p} order 2 10 steps`, `DPM ${p} (dpmsolver) order 2, sigma_min`],
      [`UniPC ${p} order 1 10 steps`, `UniPC ${p} order 2 10 steps`], [`UniPC ${p} order 2 10 steps`, `UniPC ${p} order 3 10 steps`],
      [`UniPC ${p} order 2 10 steps`, `UniPC ${p} order 2 Karras 10 steps`], [`UniPC ${p} order 2 10 steps`, `DPM++ ${p} order 2 10 steps`],
      [`Euler ${p} linspace`, `Euler ${p} Karras`],
    );
    pairs.push([`DDIM ${p} 10 steps`, `DDIM ${p} thresholding`], [`DDPM ${p} 10 steps`, `DDPM ${p} thresholding`]);
    pairs.push([`UniPC ${p} order 2 10 steps`, `UniPC ${p} thresholding, disableCorrector [0, 3]`]);
  }
  for (const [a, b] of pairs) {
    const error = relativeError(final(a), final(b));
    const tolerance = Math.max(...[a, b].map((name) => TOLERANCE[cases.find((c) => c.name === name)!.scheduler]));
    assert.ok(error > 10 * tolerance, `'${a}' and '${b}' differ by only ${error.toExponential(2)} (tolerance ${tolerance})`);
  }
});

test.run();
