// DDPMScheduler with a learned variance (Nichol & Dhariwal 2021): full and strided sampling loops against the real
// diffusers v0.27.2 (test/fixtures/adm.json, made by scripts/fixtures/adm.py: a toy model whose output is
// [prediction, v], fixed noise), one strided step against a float64 reference of the respaced interpolation, and
// the one-line errors.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DDPMScheduler, init, Tensor, tidy } from '../../bindings/index.ts';
import { assertClose, decodeFloat32 } from '../helpers.ts';
import { toyWeights } from './toy-model.ts';

await init();

const fixture = JSON.parse(readFileSync(new URL('../fixtures/adm.json', import.meta.url), 'utf8'));
const decode = decodeFloat32;
const SHAPE: number[] = fixture.shape;
const X_T = decode(fixture.initialSample);
const NOISE: Float32Array[] = fixture.noise.map(decode);
const M = X_T.length / SHAPE[0];
const W = toyWeights(X_T.length);
const V = Array.from({ length: X_T.length }, (_, i) => ((i % 5) - 2) / 2.2);

/** The fixture's toy model: [prediction, v] per item, each element in float64 from the float32 input, rounded once. */
function toyModel(x: Float32Array, t: number, T: number): Tensor {
  const u = t / T;
  const out = new Float32Array(2 * x.length);
  for (let n = 0; n < SHAPE[0]; n++) {
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      out[2 * n * M + i] = 0.5 * x[j] + 0.25 * (u * u - 0.5 * u) + 1.2 * W[j];
      out[(2 * n + 1) * M + i] = 0.3 * x[j] + 0.9 * V[j] - 0.2 * u;
    }
  }
  return Tensor.from(out, [SHAPE[0], 2 * SHAPE[1], ...SHAPE.slice(2)]);
}

for (const c of fixture.loops as { name: string; config: Record<string, unknown>; steps: number; timesteps: number[]; samples: string[] }[]) {
  test(`diffusers loop: ${c.name}`, () => {
    const config = { ...c.config, betaSchedule: c.config.betaSchedule === 'squaredcos_cap_v2' ? 'cosine' : c.config.betaSchedule };
    const s = new DDPMScheduler(config as never);
    s.setTimesteps(c.steps);
    assert.equal(Array.from(s.timesteps), c.timesteps, 'timesteps');
    tidy(() => {
      let x = Tensor.from(X_T, SHAPE);
      Array.from(s.timesteps).forEach((t, k) => {
        x = s.step(toyModel(x.toFloat32Array(), t, s.config.numTrainTimesteps), t, x, { noise: Tensor.from(NOISE[k], SHAPE) }).prevSample;
        // diffusers' float32 schedule against our float64 one (see diffusers-loops.test.ts): measured at most 1.7e-5 of the scale.
        const expected = decode(c.samples[k]);
        const scale = Math.max(1, ...Array.from(expected, Math.abs));
        assertClose(x, expected, { atol: 5e-5 * scale, rtol: 0 }, `${c.name}, step ${k} (t = ${t})`);
      });
    });
  });
}

test('a strided learned-range step: the mean of the fixed-variance step plus exp(0.5 log sigma²) z, log sigma² respaced (float64 reference)', () => {
  const s = new DDPMScheduler({ varianceType: 'learned_range', predictionType: 'v_prediction', clipSample: false });
  const fixed = new DDPMScheduler({ predictionType: 'v_prediction', clipSample: false });
  s.setTimesteps(25);
  fixed.setTimesteps(25);
  const t = s.timesteps[3], prev = s.timesteps[4];
  const ab = s.alphasCumprod, beta = 1 - ab[t] / ab[prev];
  const minLog = Math.log((1 - ab[prev]) / (1 - ab[t]) * beta), maxLog = Math.log(beta);
  tidy(() => {
    const x = Tensor.from(X_T, SHAPE), output = toyModel(X_T, t, 1000), z = Tensor.from(NOISE[0], SHAPE);
    const prediction = new Float32Array(X_T.length), v = new Float32Array(X_T.length);
    const values = output.toFloat32Array();
    for (let n = 0; n < SHAPE[0]; n++) {
      prediction.set(values.subarray(2 * n * M, (2 * n + 1) * M), n * M);
      v.set(values.subarray((2 * n + 1) * M, (2 * n + 2) * M), n * M);
    }
    const mean = fixed.step(Tensor.from(prediction, SHAPE), t, x, { noise: Tensor.from(new Float32Array(X_T.length), SHAPE) }).prevSample.toFloat32Array();
    const expected = Float64Array.from(mean, (m, i) => {
      const frac = (v[i] + 1) / 2;
      return m + Math.exp(0.5 * (frac * maxLog + (1 - frac) * minLog)) * NOISE[0][i];
    });
    assertClose(s.step(output, t, x, { noise: z }).prevSample, expected, { atol: 2e-7, rtol: 1e-6 }, 'prevSample');
    const bounds = s.logVarianceBounds(t);
    assertClose([bounds.minLog, bounds.maxLog], [minLog, maxLog], { atol: 0, rtol: 1e-13 }, 'the bounds of the strided step');
  });
});

test('learned variance: one-line errors for the wrong output, and getVariance names the model as the source', () => {
  const s = new DDPMScheduler({ varianceType: 'learned_range' });
  tidy(() => {
    const x = Tensor.from(X_T, SHAPE);
    assert.throws(() => s.step(x, 10, x), /DDPMScheduler.step: with varianceType 'learned_range' the model predicts its variance, so modelOutput must be \[2, 2, 4, 4\] \(the prediction, then v, for sample \[2, 1, 4, 4\]\), got \[2, 1, 4, 4\]/);
  });
  assert.throws(() => s.getVariance(10), /getVariance: with varianceType 'learned_range' the variance is the model's output/);
  assert.is(s.predictsVariance, true);
  assert.is(new DDPMScheduler().predictsVariance, false);
});

test.run();
