/**
 * The determinism scenarios: the self-test (`selfTest()`, `ddpm verify`) runs them in whatever runtime it is in,
 * and the cross-runtime harness (test/runtimes) in Node, Deno, Bun, Chromium, Firefox, WebKit and workerd; every
 * output must equal its golden bytes (golden.json, shipped in the package beside this file).
 *
 * Plain JavaScript, no TypeScript: browsers load these files as they are. A scenario is
 *
 *   { name, needs?, run(lib) }
 *
 * - `name`: unique; with each output's name it is the golden key, so renaming one means `--update`.
 * - `needs` (optional): the functions or classes it calls, from `lib.ops` or `lib` (e.g. 'conv2d', 'Trainer').
 *   While one is missing (still being written) the scenario is reported as pending, not failed; once golden
 *   hashes exist for it, a missing one fails.
 * - `run(lib)`: uses only the public API of `lib` (the library's main entry) and inputs from
 *   scenarios/inputs.js (an integer PRNG: the same bits everywhere). It returns a Tensor, a typed array
 *   (Float32Array, Float64Array, Int32Array, Uint32Array, Uint8Array) or a plain object of them (nested
 *   objects give dotted names; null entries, e.g. skipped gradients, are left out). A synchronous `run` runs
 *   inside `lib.tidy`, so its tensors are freed once its outputs are copied; an `async` one frees its own,
 *   except the tensors it returns, which collect.js frees after copying them.
 *
 * Keep outputs small (a few thousand elements at most): their bytes travel back as base64 and the golden
 * values are committed and shipped. Inputs may be large. Never return NaN: its bits are not portable, collect.js rejects it.
 *
 * Adding a scenario: append an entry (here or in a scenarios/*.js list), run
 * `npm run test:runtimes -- --update`, check that the printed changes are the ones you meant, commit golden.json.
 * The scenarios and golden.json are plain files of the library: tsc copies them into dist/bindings/verify/.
 */
import { admScenarios } from './scenarios/adm.js';
import { diffusionScenarios } from './scenarios/diffusion.js';
import { editingScenarios } from './scenarios/editing.js';
import { distillationScenarios } from './scenarios/distillation.js';
import { elementwiseScenarios } from './scenarios/elementwise.js';
import { fileScenarios } from './scenarios/files.js';
import { inferenceScenarios } from './scenarios/inference.js';
import { layerScenarios } from './scenarios/layers.js';
import { likelihoodScenarios } from './scenarios/likelihood.js';
import { randomScenarios } from './scenarios/random.js';
import { torchNoiseScenarios } from './scenarios/torch-noise.js';
import { solverScenarios } from './scenarios/solvers.js';
import { unetOptionScenarios } from './scenarios/unet-options.js';

/** @type {{ name: string, needs?: string[], run(lib: any): unknown }[]} */
export const scenarios = [
  ...layerScenarios,
  ...inferenceScenarios,
  ...elementwiseScenarios,
  ...randomScenarios,
  ...diffusionScenarios,
  ...distillationScenarios,
  ...torchNoiseScenarios,
  ...solverScenarios,
  ...unetOptionScenarios,
  ...fileScenarios,
  ...likelihoodScenarios,
  ...admScenarios,
  ...editingScenarios,
];
