/**
 * Model-level gradient check: L = <model(x), r> in float64 over float32 outputs; the analytic gradient from
 * backward(r) against central differences, for one element of every parameter tensor and a few input elements.
 * In float32 with h = 1e-2 the difference quotient carries ~1e-4 of rounding noise, hence the tolerances.
 * Parameters the model keeps fixed (`frozen`, e.g. a 'fourier' U-Net's frequencies) must get no gradient at all.
 * `condition`: the conditioning image of a model conditioned by concatenation (held fixed).
 */
import * as assert from 'uvu/assert';
import type { Model } from '../../bindings/index.ts';
import { Tensor, tidy } from '../../bindings/index.ts';
import { dot } from '../helpers.ts';

export function gradcheckModel(
  model: Model, x: Tensor, timesteps: Int32Array | Float32Array, labels: Int32Array | Float32Array | null, r: Float32Array,
  frozen: readonly string[] = [], condition: Tensor | null = null,
): void {
  const loss = () => tidy(() => dot(model.forward(x, timesteps, labels, { condition }).toFloat32Array(), r));
  const { analyticParams, analyticInput } = tidy(() => {
    model.params.zeroGrads();
    const out = model.forward(x, timesteps, labels, { condition });
    const dx = model.backward(Tensor.from(r, out.shape))!;
    return { analyticParams: model.params.grads.toFloat32Array(), analyticInput: dx.toFloat32Array() };
  });
  const h = 1e-2;
  const failures: string[] = [];
  const check = (label: string, analytic: number, buffer: () => Float32Array, i: number) => {
    const original = buffer()[i];
    buffer()[i] = original + h; const up = loss();
    buffer()[i] = original - h; const down = loss();
    buffer()[i] = original;
    const numeric = (up - down) / (2 * h);
    if (!(Math.abs(numeric - analytic) <= 2e-3 + 2e-2 * Math.abs(numeric))) failures.push(`${label}: analytic ${analytic}, numeric ${numeric}`);
  };
  for (const p of model.params.parameters) {
    if (frozen.includes(p.name)) {
      const grads = analyticParams.subarray(p.offset, p.offset + p.size);
      if (grads.some((g) => g !== 0)) failures.push(`${p.name}: fixed, but it got a gradient`);
      continue;
    }
    const i = p.offset + ((p.size * 7) >> 4); // an element in the middle of each tensor
    check(p.name, analyticParams[i], () => model.params.values.view(), i);
  }
  for (const i of [0, (x.size >> 1) + 1, x.size - 1]) check(`input[${i}]`, analyticInput[i], () => x.view(), i);
  assert.ok(failures.length === 0, `${failures.length} of ${model.params.parameters.length + 3} gradients disagree:\n${failures.slice(0, 8).join('\n')}`);
}
