// The 8-mode ring's true entropy, computed numerically, and the bound of its exact denoiser (the best any model
// with a fixed variance can do: for every term, E[x0 | x_t] minimises the expected KL): never below the entropy,
// at least the entropy plus the prior's mismatch KL(q(x_T) || N(0, I)), and within 0.1 nats per dimension of the
// entropy when the schedule ends near pure noise (T = 1000). The trained model's bound is checked against the
// same floor in test/quality/gaussian8.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DDPMScheduler, estimate, init, toyDataset, variationalBound } from '../../bindings/index.ts';
import { gaussian8Denoiser, RING_STD, ringIntegrals } from './exact-models.ts';

await init();

const data = ringIntegrals();

test('the ring\'s entropy by numerical integration: the density integrates to 1, and the entropy is that of 8 separate modes less their overlap', () => {
  assert.ok(Math.abs(data.mass - 1) < 1e-9, `mass ${data.mass}`);
  // Well-separated modes: log(8) / 2 + 0.5 log(2πe s²) per dimension; overlap can only lower it, slightly here.
  const separated = Math.log(8) / 2 + 0.5 * Math.log(2 * Math.PI * Math.E * RING_STD ** 2);
  console.log(`  gaussian8 entropy ${data.entropy.toFixed(5)} nats/dim (separated modes: ${separated.toFixed(5)})`);
  assert.ok(data.entropy < separated && separated - data.entropy < 0.01, `entropy ${data.entropy} vs ${separated}`);
});

test('the exact denoiser\'s bound: above entropy + KL(q(x_T) || N(0, I)) at T = 100, within 0.1 of the entropy at T = 1000', () => {
  const x0 = toyDataset('gaussian8', 2000, 7).batch(Int32Array.from({ length: 2000 }, (_, i) => i)).x;
  for (const [T, varianceType] of [[100, 'fixed_small'], [100, 'fixed_large'], [1000, 'fixed_large']] as const) {
    const scheduler = new DDPMScheduler({ numTrainTimesteps: T, varianceType, clipSample: false });
    const { total } = variationalBound(gaussian8Denoiser(scheduler, 'epsilon'), scheduler, x0, { decoder: 'gaussian', seed: 1 });
    const { mean, ci95 } = estimate(total);
    const floor = data.entropy + ringIntegrals(scheduler.alphasCumprod[T - 1]).klToStandardNormal;
    console.log(`  exact denoiser, T = ${T}, ${varianceType}: ${mean.toFixed(4)} ± ${ci95!.toFixed(4)} nats/dim (floor ${floor.toFixed(4)})`);
    assert.ok(mean > floor - ci95!, `T ${T} ${varianceType}: ${mean} ± ${ci95} below the floor ${floor}`);
    if (T === 1000) assert.ok(mean < data.entropy + 0.1, `T 1000: ${mean} not within 0.1 of ${data.entropy}`);
  }
  x0.dispose();
});

test.run();
