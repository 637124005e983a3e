// Noise schedules (bindings/schedulers/betas.ts) through the schedulers' constructors: the running product, each
// schedule's endpoints, monotonicity and closed form, the PyTorch golden values (test/fixtures/schedules.json),
// and the errors for bad options.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../../bindings/index.ts';
import { DDIMScheduler, DDPMScheduler, type BetaSchedule } from '../../bindings/schedulers/index.ts';

await init();

const T = 1000;
const SCHEDULES: BetaSchedule[] = ['linear', 'scaled_linear', 'cosine', 'squaredcos_cap_v2', 'sigmoid'];

function assertRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, label: string) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= rtol * Math.abs(expected[i]))) assert.unreachable(`${label}[${i}]: ${actual[i]} vs ${expected[i]} (relative ${err / Math.abs(expected[i])})`);
  }
}

for (const betaSchedule of SCHEDULES) {
  test(`${betaSchedule}: alphas = 1 - betas, alphasCumprod is the running product, betas increase within (0, 1)`, () => {
    const s = new DDPMScheduler({ betaSchedule });
    for (const a of [s.betas, s.alphas, s.alphasCumprod]) assert.ok(a instanceof Float64Array && a.length === T);
    let product = 1;
    for (let t = 0; t < T; t++) {
      assert.is(s.alphas[t], 1 - s.betas[t]);
      product *= s.alphas[t];
      assert.is(s.alphasCumprod[t], product, `alphasCumprod[${t}]`);
      assert.ok(s.betas[t] > 0 && s.betas[t] < 1, `betas[${t}] = ${s.betas[t]}`);
      if (t > 0) assert.ok(s.betas[t] > s.betas[t - 1], `betas increase at ${t}: ${s.betas[t - 1]}, ${s.betas[t]}`);
    }
    assert.is(s.alphasCumprod[0], s.alphas[0]);
  });
}

test('linear: exact endpoints betaStart and betaEnd, evenly spaced', () => {
  const s = new DDPMScheduler({ betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02 });
  assert.is(s.betas[0], 1e-4);
  assert.is(s.betas[T - 1], 0.02);
  const step = (0.02 - 1e-4) / (T - 1);
  for (let t = 0; t < T; t++) assert.ok(Math.abs(s.betas[t] - (1e-4 + step * t)) <= 1e-17, `betas[${t}]`);
  const few = new DDPMScheduler({ numTrainTimesteps: 3, betaStart: 0.1, betaEnd: 0.3 });
  assert.equal(Array.from(few.betas), [0.1, 0.2, 0.3]);
  assert.equal(Array.from(new DDPMScheduler({ numTrainTimesteps: 1, betaStart: 0.1, betaEnd: 0.3 }).betas), [0.1]);
});

test('scaled_linear: square roots evenly spaced, endpoints betaStart and betaEnd', () => {
  const s = new DDPMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 });
  assertRelClose([s.betas[0], s.betas[T - 1]], [0.00085, 0.012], 1e-15, 'endpoints');
  const r0 = Math.sqrt(0.00085), r1 = Math.sqrt(0.012);
  assertRelClose(s.betas, Array.from({ length: T }, (_, t) => (r0 + (r1 - r0) * t / (T - 1)) ** 2), 1e-13, 'closed form');
});

test('cosine (and its alias squaredcos_cap_v2): the improved-DDPM closed form, capped at 0.999', () => {
  const alphaBar = (u: number) => Math.cos((u + 0.008) / 1.008 * Math.PI / 2) ** 2;
  const expected = Array.from({ length: T }, (_, i) => Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999));
  for (const betaSchedule of ['cosine', 'squaredcos_cap_v2'] as const) {
    const s = new DDPMScheduler({ betaSchedule });
    for (let t = 0; t < T; t++) assert.ok(Math.abs(s.betas[t] - expected[t]) <= 1e-12, `${betaSchedule} betas[${t}]: ${s.betas[t]} vs ${expected[t]}`);
    assert.is(s.betas[T - 1], 0.999, 'capped');
    assert.ok(Math.abs(s.betas[0] - 4.128422482196914e-05) < 1e-15, `first beta ${s.betas[0]}`);
  }
  // The schedule ignores betaStart and betaEnd.
  assert.equal(new DDPMScheduler({ betaSchedule: 'cosine', betaStart: 0.5, betaEnd: 0.1 }).betas, new DDPMScheduler({ betaSchedule: 'cosine' }).betas);
});

test('sigmoid: sigmoid(linspace(-6, 6)) scaled to [betaStart, betaEnd], symmetric about the middle', () => {
  const s = new DDPMScheduler({ betaSchedule: 'sigmoid', betaStart: 1e-4, betaEnd: 0.02 });
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const expected = Array.from({ length: T }, (_, t) => sigmoid(-6 + 12 * t / (T - 1)) * (0.02 - 1e-4) + 1e-4);
  assertRelClose(s.betas, expected, 1e-13, 'closed form');
  assertRelClose([s.betas[0], s.betas[T - 1]], [sigmoid(-6) * 0.0199 + 1e-4, sigmoid(6) * 0.0199 + 1e-4], 1e-14, 'endpoints');
  for (let t = 0; t < T; t++) assert.ok(Math.abs(s.betas[t] + s.betas[T - 1 - t] - 0.0201) < 1e-15, `symmetry at ${t}`);
});

test('trainedBetas replace the schedule; DDIM and DDPM build the same schedule', () => {
  const betas = [0.1, 0.2, 0.5];
  const s = new DDPMScheduler({ numTrainTimesteps: 3, trainedBetas: betas });
  assert.equal(Array.from(s.betas), betas);
  assert.equal(Array.from(s.alphasCumprod), [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.5]);
  for (const betaSchedule of SCHEDULES) {
    assert.equal(new DDIMScheduler({ betaSchedule }).alphasCumprod, new DDPMScheduler({ betaSchedule }).alphasCumprod);
  }
});

test('schedules equal PyTorch float64 (test/fixtures/schedules.json) to 1e-12 relative', () => {
  const cases = JSON.parse(readFileSync(new URL('../fixtures/schedules.json', import.meta.url), 'utf8'));
  assert.is(cases.length, 4);
  for (const c of cases) {
    const s = new DDPMScheduler(c.options);
    assertRelClose(s.betas, c.outputs.betas, 1e-12, `${c.name} betas`);
    assertRelClose(s.alphasCumprod, c.outputs.alphasCumprod, 1e-12, `${c.name} alphasCumprod`);
  }
});

test('bad schedule options throw messages naming the option, the value and what is allowed', () => {
  const cases: [object, RegExp][] = [
    [{ betaSchedule: 'quadratic' }, /DDPMScheduler: betaSchedule must be one of 'linear', 'scaled_linear', 'cosine', 'squaredcos_cap_v2', 'sigmoid', got 'quadratic'/],
    [{ betaStart: 0.02, betaEnd: 0.0001 }, /DDPMScheduler: betaStart \(0.02\) must be less than betaEnd \(0.0001\) for betaSchedule 'linear'/],
    [{ betaStart: 0.01, betaEnd: 0.01 }, /betaStart \(0.01\) must be less than betaEnd \(0.01\)/],
    [{ betaSchedule: 'sigmoid', betaStart: 0.03 }, /betaStart \(0.03\) must be less than betaEnd \(0.02\) for betaSchedule 'sigmoid'/],
    [{ betaStart: 0 }, /DDPMScheduler: betaStart must be a number in \(0, 1\), got 0/],
    [{ betaEnd: 1 }, /DDPMScheduler: betaEnd must be a number in \(0, 1\), got 1/],
    [{ numTrainTimesteps: 10.5 }, /DDPMScheduler: numTrainTimesteps must be an integer in \[1, 131072\], got 10.5/],
    [{ numTrainTimesteps: 0 }, /numTrainTimesteps must be an integer in \[1, 131072\], got 0/],
    [{ trainedBetas: [0.1, 0.2] }, /DDPMScheduler: trainedBetas has 2 values but numTrainTimesteps is 1000/],
    [{ numTrainTimesteps: 2, trainedBetas: [0.1, 1] }, /DDPMScheduler: trainedBetas\[1\] must be in \(0, 1\), got 1/],
    [{ predictionType: 'noise' }, /DDPMScheduler: predictionType must be one of 'epsilon', 'sample', 'v_prediction', got 'noise'/],
    [{ varianceType: 'fixed_small_log' }, /DDPMScheduler: varianceType must be one of 'fixed_small', 'fixed_large', 'learned_range', 'learned', got 'fixed_small_log'/],
    [{ timestepSpacing: 'even' }, /DDPMScheduler: timestepSpacing must be one of 'leading', 'trailing', 'linspace', got 'even'/],
    [{ clipSample: 1 }, /DDPMScheduler: clipSample must be true or false, got 1/],
    [{ clipSampleRange: 0 }, /DDPMScheduler: clipSampleRange must be a finite positive number, got 0/],
    [{ stepsOffset: -1 }, /DDPMScheduler: stepsOffset must be an integer in \[0, 999\] \(numTrainTimesteps 1000\), got -1/],
    [{ seed: -3 }, /DDPMScheduler: seed must be a non-negative safe integer, got -3/],
    [{ betaScheduel: 'linear' }, /DDPMScheduler: unknown option 'betaScheduel' \(known options: numTrainTimesteps, betaSchedule, /],
    [{ setAlphaToOne: true }, /DDPMScheduler: unknown option 'setAlphaToOne'/],
  ];
  for (const [options, message] of cases) assert.throws(() => new DDPMScheduler(options as never), message, JSON.stringify(options));
  assert.throws(() => new DDIMScheduler({ setAlphaToOne: 'yes' } as never), /DDIMScheduler: setAlphaToOne must be true or false, got 'yes'/);
  assert.throws(() => new DDIMScheduler({ varianceType: 'fixed_small' } as never), /DDIMScheduler: unknown option 'varianceType'/);
});

test('config holds every option with its default', () => {
  const s = new DDPMScheduler({ betaSchedule: 'cosine', betaEnd: undefined });
  assert.equal({ ...s.config }, {
    numTrainTimesteps: 1000, betaSchedule: 'cosine', betaStart: 0.0001, betaEnd: 0.02, trainedBetas: null,
    predictionType: 'epsilon', clipSample: true, clipSampleRange: 1, timestepSpacing: 'leading', stepsOffset: 0, seed: 0,
    varianceType: 'fixed_small', thresholding: false, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1, rescaleBetasZeroSnr: false,
  });
  assert.ok(Object.isFrozen(s.config));
  assert.is(new DDIMScheduler().config.setAlphaToOne, true);
});

test.run();
