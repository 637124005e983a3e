// DDIMScheduler (bindings/schedulers/ddim.ts): diffusers' timesteps for every spacing, the deterministic update
// with eta = 0 (an oracle epsilon walks x_t along sqrt(ab) x0 + sqrt(1 - ab) eps to x0), setAlphaToOne, the
// noise of eta > 0, useClippedModelOutput, and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy } from '../../bindings/index.ts';
import { DDIMScheduler, DDPMScheduler, SAMPLER_NOISE_STRIDE } from '../../bindings/schedulers/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';

await init();

const SHAPE = [3, 2, 5, 5];
const bitsOf = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer));
const range = (n: number, first: number, stride: number) => Array.from({ length: n }, (_, k) => first + stride * k);

function timestepsOf(options: ConstructorParameters<typeof DDIMScheduler>[0], n: number): number[] {
  const s = new DDIMScheduler(options);
  s.setTimesteps(n);
  return Array.from(s.timesteps);
}

test("timesteps equal diffusers' for each spacing (numpy's arithmetic, ties to even)", () => {
  assert.equal(Array.from(new DDIMScheduler().timesteps), range(1000, 999, -1), 'before setTimesteps');
  assert.equal(timestepsOf({}, 50), range(50, 980, -20), "'leading' 50: 980, 960, ..., 0");
  assert.equal(timestepsOf({ stepsOffset: 1 }, 50), range(50, 981, -20), "'leading' 50, stepsOffset 1");
  assert.equal(timestepsOf({}, 1000), range(1000, 999, -1), "'leading' 1000");
  assert.equal(timestepsOf({}, 3), [666, 333, 0], "'leading' 3");
  assert.equal(timestepsOf({ timestepSpacing: 'trailing' }, 50), range(50, 999, -20), "'trailing' 50");
  assert.equal(timestepsOf({ timestepSpacing: 'trailing' }, 16), [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61]);
  assert.equal(timestepsOf({ timestepSpacing: 'trailing' }, 61).length, 61, "'trailing' 61: exactly n (numpy appends a -1)");
  assert.equal(timestepsOf({ timestepSpacing: 'linspace' }, 7), [999, 832, 666, 500, 333, 166, 0], "'linspace' 7");
  assert.equal(timestepsOf({ timestepSpacing: 'linspace' }, 50), [999, 979, 958, 938, 917, 897, 877, 856, 836, 816, 795,
    775, 754, 734, 714, 693, 673, 652, 632, 612, 591, 571, 550, 530, 510, 489, 469, 449, 428, 408, 387, 367, 347, 326,
    306, 285, 265, 245, 224, 204, 183, 163, 143, 122, 102, 82, 61, 41, 20, 0]);
  assert.equal(timestepsOf({ timestepSpacing: 'linspace' }, 1), [0]);
  assert.equal(timestepsOf({ timestepSpacing: 'trailing' }, 1), [999]);
});

for (const predictionType of ['epsilon', 'sample', 'v_prediction'] as const) {
  test(`eta = 0, ${predictionType}: the true target maps x_t to sqrt(ab_prev) x0 + sqrt(1 - ab_prev) eps; 50 steps end at x0`, () => {
    tidy(() => {
      const s = new DDIMScheduler({ predictionType, clipSample: false });
      s.setTimesteps(50);
      const x0 = randomTensor(SHAPE, 1), eps = randomTensor(SHAPE, 2, 2); // |x_t| < 4: float32 half-ulp <= 2^-23
      const target = (t: number) => {
        const ts = [t, t, t];
        return { epsilon: eps, sample: x0, v_prediction: s.getVelocity(x0, eps, ts) }[predictionType];
      };
      const ideal = (t: number) => {
        const ab = t >= 0 ? s.alphasCumprod[t] : 1;
        return toF64(x0).map((v, i) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * toF64(eps)[i]);
      };
      // One step from x_t = addNoise(x0, eps, t): x_t's float32 rounding is amplified by sqrt(ab_prev / ab_t)
      // when x0 comes from epsilon, and at most doubled otherwise.
      for (const t of s.timesteps) {
        const { prevSample } = s.step(target(t), t, s.addNoise(x0, eps, [t, t, t]));
        const gain = predictionType === 'epsilon' ? Math.sqrt((t >= 20 ? s.alphasCumprod[t - 20] : 1) / s.alphasCumprod[t]) : 2;
        assertClose(prevSample, ideal(t - 20), { atol: 2 ** -23 * (gain + 1) * 1.5, rtol: 0 }, `t = ${t} -> ${t - 20}`);
      }
      // The whole loop: each step's rounding, seen as an error in x0, is at most 2^-23 / sqrt(ab_t).
      let x = s.addNoise(x0, eps, [980, 980, 980]);
      let bound = 0;
      for (const t of s.timesteps) {
        x = s.step(target(t), t, x).prevSample;
        bound += 2 ** -23 * 2 * (predictionType === 'epsilon' ? 1 / Math.sqrt(s.alphasCumprod[t]) : 1);
      }
      assertClose(x, x0, { atol: bound, rtol: 0 }, 'final sample is x0');
    });
  });
}

test('eta = 0 is deterministic: no noise is drawn, the seed does not matter', () => {
  tidy(() => {
    const s = new DDIMScheduler();
    s.setTimesteps(25);
    const x = randomTensor(SHAPE, 3), out = randomTensor(SHAPE, 4);
    const a = s.step(out, 480, x, { seed: 1 }).prevSample, b = s.step(out, 480, x, { seed: 2, eta: 0 }).prevSample;
    assert.equal(bitsOf(a), bitsOf(b));
    assert.equal(bitsOf(a), bitsOf(s.step(out, 480, x, { noise: randomTensor(SHAPE, 5) }).prevSample));
  });
});

test('setAlphaToOne: the final step returns x0 (true) or goes to ab_0 (false)', () => {
  tidy(() => {
    const x0 = randomTensor(SHAPE, 1, 0.9), eps = randomTensor(SHAPE, 2);
    for (const setAlphaToOne of [true, false]) {
      const s = new DDIMScheduler({ setAlphaToOne, clipSample: false });
      s.setTimesteps(10);
      assert.is(s.finalAlphaCumprod, setAlphaToOne ? 1 : s.alphasCumprod[0]);
      const xt = s.addNoise(x0, eps, [0, 0, 0]);
      const { prevSample, predOriginalSample } = s.step(eps, 0, xt);
      assertClose(predOriginalSample, x0, { atol: 1e-6, rtol: 0 }, 'x0');
      const expected = setAlphaToOne ? x0 : xt;
      assertClose(prevSample, expected, { atol: 1e-6, rtol: 0 }, `setAlphaToOne ${setAlphaToOne}`);
    }
  });
});

test('eta > 0: sigma_t = eta sqrt(variance) (eq. 16); eta = 1 with all steps has the DDPM posterior variance', () => {
  tidy(() => {
    const full = new DDIMScheduler(), ddpm = new DDPMScheduler();
    full.setTimesteps(1000);
    for (const t of [1, 500, 999]) {
      assert.ok(Math.abs(full.getVariance(t) - ddpm.getVariance(t)) <= 1e-12 * ddpm.getVariance(t), `t = ${t}`);
    }
    const s = new DDIMScheduler({ clipSample: false });
    s.setTimesteps(50);
    const x = randomTensor(SHAPE, 3), eps = randomTensor(SHAPE, 4), z = randomTensor(SHAPE, 5, 2);
    const t = 500, eta = 0.7;
    const { prevSample } = s.step(eps, t, x, { eta, noise: z });
    const abT = s.alphasCumprod[t], abPrev = s.alphasCumprod[t - 20];
    const variance = (1 - abPrev) / (1 - abT) * (1 - abT / abPrev);
    assert.ok(Math.abs(s.getVariance(t) - variance) <= 1e-15 * variance);
    const sigma = eta * Math.sqrt(variance);
    const xs = toF64(x), es = toF64(eps), zs = toF64(z);
    const expected = xs.map((xi, i) => Math.sqrt(abPrev) * (xi - Math.sqrt(1 - abT) * es[i]) / Math.sqrt(abT) +
      Math.sqrt(1 - abPrev - sigma * sigma) * es[i] + sigma * zs[i]);
    assertClose(prevSample, expected, { atol: 5e-7, rtol: 5e-7 }, 'eta 0.7');
    // Drawn noise: the sampler stream of DDPMScheduler's documentation, reproducible from the seed.
    const drawn = s.step(eps, t, x, { eta, seed: 11 }).prevSample;
    const explicit = ops.randn(SHAPE, { seed: 11, stream: STREAMS.samplerNoise, offset: t * SAMPLER_NOISE_STRIDE });
    assert.equal(bitsOf(drawn), bitsOf(s.step(eps, t, x, { eta, noise: explicit }).prevSample));
    assert.not.equal(bitsOf(drawn), bitsOf(s.step(eps, t, x, { eta, seed: 12 }).prevSample));
  });
});

test('clipping, and useClippedModelOutput re-deriving eps from the clipped x0', () => {
  tidy(() => {
    const s = new DDIMScheduler({ clipSampleRange: 0.5 });
    s.setTimesteps(50);
    const x = randomTensor(SHAPE, 6, 2), eps = randomTensor(SHAPE, 7, 2);
    const t = 300, abT = s.alphasCumprod[t], abPrev = s.alphasCumprod[t - 20];
    const clip = (v: number) => Math.min(Math.max(v, -0.5), 0.5);
    const xs = toF64(x), es = toF64(eps);
    const x0 = xs.map((xi, i) => clip((xi - Math.sqrt(1 - abT) * es[i]) / Math.sqrt(abT)));
    assert.ok(x0.some((v) => Math.abs(v) === 0.5), 'some x0 are clipped');
    for (const useClippedModelOutput of [false, true]) {
      const { prevSample, predOriginalSample } = s.step(eps, t, x, { useClippedModelOutput });
      assertClose(predOriginalSample, x0, { atol: 1e-7, rtol: 1e-6 }, 'x0');
      const epsUsed = useClippedModelOutput ? xs.map((xi, i) => (xi - Math.sqrt(abT) * x0[i]) / Math.sqrt(1 - abT)) : es;
      const expected = x0.map((v, i) => Math.sqrt(abPrev) * v + Math.sqrt(1 - abPrev) * epsUsed[i]);
      assertClose(prevSample, expected, { atol: 5e-7, rtol: 5e-7 }, `useClippedModelOutput ${useClippedModelOutput}`);
    }
  });
});

test('errors: step before setTimesteps, too many or fractional steps, bad step options', () => {
  tidy(() => {
    const s = new DDIMScheduler();
    const x = Tensor.zeros([1, 4]);
    assert.throws(() => s.step(x, 10, x), /DDIMScheduler.step: the number of inference steps is not set: call setTimesteps\(numInferenceSteps\) first/);
    assert.throws(() => s.setTimesteps(2000), /DDIMScheduler.setTimesteps: numInferenceSteps \(2000\) cannot be larger than numTrainTimesteps \(1000\)/);
    assert.throws(() => s.setTimesteps(50.5), /DDIMScheduler.setTimesteps: numInferenceSteps must be an integer >= 1, got 50.5/);
    s.setTimesteps(50);
    assert.throws(() => s.step(x, 980, x, { eta: -1 }), /DDIMScheduler.step: options.eta must be a finite number >= 0, got -1/);
    assert.throws(() => s.step(x, 980, x, { eta: 2 }), /DDIMScheduler.step: eta 2 is too large at timestep 980: sigma_t² = .* exceeds 1 - ab_\{t_prev\}/);
    assert.throws(() => s.step(x, 980, x, { etta: 1 } as never), /DDIMScheduler.step: unknown option 'etta' \(allowed: eta, useClippedModelOutput, noise, seed\)/);
    assert.throws(() => s.step(x, 980, x, { useClippedModelOutput: 1 } as never), /DDIMScheduler.step: options.useClippedModelOutput must be true or false, got 1/);
    assert.throws(() => s.step(x, -20, x), /DDIMScheduler.step: timestep must be an integer in \[0, 999\]/);
    assert.throws(() => s.getVariance(100, 100), /DDIMScheduler.getVariance: prevTimestep must be an integer below timestep 100, got 100/);
  });
});

test.run();
