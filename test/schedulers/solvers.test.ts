// The fast solvers beyond the diffusers loops: DPM-Solver++ of order 1 is DDIM (Lu et al. 2022), Euler ancestral
// predicting x0 is the same sampler as predicting eps, where the stochastic steps' noise comes from, the order
// of steps, Heun's two evaluations, zero terminal SNR, thresholding and memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
  HeunDiscreteScheduler, init, memoryStats, ops, SAMPLER_NOISE_STRIDE, Tensor, tidy, UniPCMultistepScheduler,
} from '../../bindings/index.ts';
import { STREAMS } from '../../bindings/random-streams.ts';
import { assertClose, randomTensor, toF64 } from '../helpers.ts';

await init();

const SHAPE = [2, 3, 4, 4];
const bitsOf = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer));
/** A toy output: 0.3 x + 0.2 z, with z fixed. */
const toy = (x: Tensor, z: Tensor) => ops.schedulerCombine([[x, 0.3], [z, 0.2]]);

test('DPM-Solver++ of order 1 is DDIM (eta 0, no clipping), step for step, for every prediction type', () => {
  tidy(() => {
    for (const predictionType of ['epsilon', 'sample', 'v_prediction'] as const) {
      const dpm = new DPMSolverMultistepScheduler({ solverOrder: 1, timestepSpacing: 'trailing', predictionType });
      const ddim = new DDIMScheduler({ timestepSpacing: 'trailing', clipSample: false, predictionType });
      // 10 divides T: DDIM's t_prev = t - T / n is then the next timestep, as the solver's.
      dpm.setTimesteps(10);
      ddim.setTimesteps(10);
      assert.equal(Array.from(dpm.timesteps), Array.from(ddim.timesteps));
      const z = randomTensor(SHAPE, 2);
      let a = randomTensor(SHAPE, 1), b = a;
      for (const t of dpm.timesteps) {
        a = dpm.step(toy(a, z), t, a).prevSample;
        b = ddim.step(toy(b, z), t, b).prevSample;
        assertClose(a, b, { atol: 2e-6, rtol: 2e-6 }, `${predictionType} t = ${t}`);
      }
    }
  });
});

test("Euler ancestral predicting x0 equals predicting eps = (x - x0) / sigma (diffusers has no 'sample' here)", () => {
  tidy(() => {
    const asSample = new EulerAncestralDiscreteScheduler({ predictionType: 'sample' });
    const asEpsilon = new EulerAncestralDiscreteScheduler();
    asSample.setTimesteps(8);
    asEpsilon.setTimesteps(8);
    let a = ops.schedulerCombine([[randomTensor(SHAPE, 1), asSample.initNoiseSigma]]), b = a;
    const z = randomTensor(SHAPE, 2, 0.5);
    asSample.timesteps.forEach((t, k) => {
      const sigma = asSample.sigmas[k];
      const x0 = ops.schedulerCombine([[asSample.scaleModelInput(a, t), 0.1], [z, 1]]);
      const eps = ops.schedulerCombine([[b, 1 / sigma], [x0, -1 / sigma]]);
      a = asSample.step(x0, t, a, { seed: 3 }).prevSample;
      b = asEpsilon.step(eps, t, b, { seed: 3 }).prevSample;
      assertClose(a, b, { atol: 1e-5, rtol: 1e-5 }, `step ${k}`);
    });
  });
});

test('stochastic solvers draw noise at (seed, STREAMS.samplerNoise, step index · SAMPLER_NOISE_STRIDE)', () => {
  tidy(() => {
    const makers = [
      () => new EulerAncestralDiscreteScheduler(),
      () => new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++' }),
    ];
    for (const make of makers) {
      const drawn = make(), given = make();
      drawn.setTimesteps(5);
      given.setTimesteps(5);
      let x = randomTensor(SHAPE, 4), y = x;
      drawn.timesteps.forEach((t, k) => {
        const out = randomTensor(SHAPE, 10 + k);
        x = drawn.step(out, t, x, { seed: 9 }).prevSample;
        const noise = ops.randn(SHAPE, { seed: 9, stream: STREAMS.samplerNoise, offset: k * SAMPLER_NOISE_STRIDE });
        y = given.step(out, t, y, { noise }).prevSample;
        assert.equal(bitsOf(x), bitsOf(y), `${drawn.constructor.name} step ${k}`);
      });
    }
  });
});

test('steps must follow timesteps in order; stepping past the end or before setTimesteps is an error', () => {
  tidy(() => {
    const s = new DPMSolverMultistepScheduler();
    const x = Tensor.zeros([1, 4]);
    assert.throws(() => s.step(x, 999, x), /DPMSolverMultistepScheduler.step: the number of inference steps is not set: call setTimesteps\(numInferenceSteps\) first/);
    s.setTimesteps(2);
    assert.equal(Array.from(s.timesteps), [999, 500]);
    assert.throws(() => s.step(x, 998, x), /DPMSolverMultistepScheduler.step: timestep 998 is not one of the 2 timesteps chosen by setTimesteps\(2\) \(999 \.\. 500\)/);
    s.step(x, 999, x);
    assert.throws(() => s.step(x, 999, x), /expected timestep 500 \(step 2 of 2\), got 999: steps must follow `timesteps` in order/);
    s.step(x, 500, x);
    assert.throws(() => s.step(x, 500, x), /all 2 steps are done: call setTimesteps to sample again/);
    assert.throws(() => s.step(x, 500, Tensor.zeros([1, 5])), /DPMSolverMultistepScheduler.step: modelOutput must have the shape of sample: sample \[1, 5\], modelOutput \[1, 4\]/);
    assert.throws(() => new UniPCMultistepScheduler().step(x, 1, x, { seed: 1 } as never), /UniPCMultistepScheduler.step: unknown option 'seed' \(allowed: \)/);
    assert.throws(() => new EulerDiscreteScheduler().setTimesteps(1001), /numInferenceSteps \(1001\) cannot be larger than numTrainTimesteps \(1000\)/);
  });
});

test('Heun: 2n - 1 timesteps (each but the first twice), first- and second-order evaluations in turn', () => {
  tidy(() => {
    const s = new HeunDiscreteScheduler();
    assert.is(s.timesteps.length, 1999, 'diffusers sets the full schedule up at construction');
    s.setTimesteps(4);
    assert.equal(Array.from(s.timesteps), [999, 666, 666, 333, 333, 0, 0]);
    assert.equal(Array.from(s.sigmas).map((v, i, a) => (i > 0 && i < a.length - 1 ? v === a[i + (i % 2 ? 1 : -1)] : true)), Array(8).fill(true));
    let x = ops.schedulerCombine([[randomTensor(SHAPE, 1), s.initNoiseSigma]]);
    const orders: boolean[] = [];
    for (const t of s.timesteps) {
      orders.push(s.stateInFirstOrder);
      x = s.step(toy(s.scaleModelInput(x, t), randomTensor(SHAPE, 2)), t, x).prevSample;
    }
    assert.equal(orders, [true, false, true, false, true, false, true]);
  });
});

test('zero terminal SNR: alphasCumprod ends at 0 (DDPM, DDIM) or 2^-24 (the sigma-based ones); sqrt(ab_0) is kept', () => {
  const base = new DDPMScheduler();
  const zero = new DDPMScheduler({ rescaleBetasZeroSnr: true });
  assert.is(zero.alphasCumprod[999], 0);
  assert.is(zero.betas[999], 1);
  assert.ok(Math.abs(Math.sqrt(zero.alphasCumprod[0]) - Math.sqrt(base.alphasCumprod[0])) < 1e-15);
  // Lin et al.'s Algorithm 1: sqrt(ab) shifted and scaled linearly.
  const s0 = Math.sqrt(base.alphasCumprod[0]), sT = Math.sqrt(base.alphasCumprod[999]);
  for (const t of [1, 100, 500, 998]) {
    const expected = (Math.sqrt(base.alphasCumprod[t]) - sT) * s0 / (s0 - sT);
    assert.ok(Math.abs(Math.sqrt(zero.alphasCumprod[t]) - expected) < 1e-12, `t = ${t}`);
  }
  for (const C of [DPMSolverMultistepScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler]) {
    assert.is(new C({ rescaleBetasZeroSnr: true }).alphasCumprod[999], 2 ** -24, C.name);
  }
  tidy(() => {
    const s = new DDIMScheduler({ rescaleBetasZeroSnr: true, timestepSpacing: 'trailing' });
    s.setTimesteps(10);
    const x = randomTensor(SHAPE, 1);
    assert.throws(() => s.step(x, 999, x), /DDIMScheduler.step: predictionType 'epsilon' cannot give x0 where alphasCumprod is 0 \(the last timestep under rescaleBetasZeroSnr\): use 'v_prediction' or 'sample'/);
    const v = new DDIMScheduler({ rescaleBetasZeroSnr: true, timestepSpacing: 'trailing', predictionType: 'v_prediction' });
    v.setTimesteps(10);
    const { predOriginalSample } = v.step(x, 999, randomTensor(SHAPE, 2));
    assertClose(predOriginalSample, toF64(x).map((e) => Math.min(1, Math.max(-1, -e))), { atol: 0, rtol: 0 }, 'x0 = -v at ab = 0');
  });
});

test('thresholding: DDPM thresholds x0 per sample (schedulerThreshold), then takes its posterior mean', () => {
  tidy(() => {
    const s = new DDPMScheduler({ thresholding: true, dynamicThresholdingRatio: 0.7, sampleMaxValue: 2, predictionType: 'sample' });
    const x = randomTensor(SHAPE, 1), out = randomTensor(SHAPE, 5, 3);
    const t = 0; // no noise at t = 0: prev is the x0 coefficient times x0 plus the sample's
    const { prevSample, predOriginalSample } = s.step(out, t, x);
    const { sample: expected, scales } = ops.schedulerThreshold(out, 0.7, 2);
    assert.equal(bitsOf(predOriginalSample), bitsOf(expected));
    assert.ok(scales.every((v) => v > 1 && v <= 2), `scales ${scales}`);
    assertClose(prevSample, expected, { atol: 1e-7, rtol: 0 }, 'prev = x0 at t = 0');
  });
});

test('memory: reset() and setTimesteps free what the multistep solvers remembered', () => {
  for (const make of [() => new DPMSolverMultistepScheduler({ solverOrder: 3 }), () => new UniPCMultistepScheduler({ solverOrder: 3 }), () => new HeunDiscreteScheduler()]) {
    const s = make();
    const before = memoryStats().liveBytes;
    s.setTimesteps(6);
    tidy(() => {
      let x = randomTensor(SHAPE, 1);
      for (const t of Array.from(s.timesteps).slice(0, 5)) x = s.step(toy(x, x), t, x).prevSample;
    });
    assert.ok(memoryStats().liveBytes > before, `${s.constructor.name} remembers tensors between steps`);
    s.reset();
    assert.is(memoryStats().liveBytes, before, s.constructor.name);
  }
});

test.run();
