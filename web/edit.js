/**
 * The page's edits of a drawing (run in its worker): 'complete' inpaints with RePaint, keeping the drawn strokes
 * (strokes.js's mask) and painting the rest; 'clean' redraws the drawing with img2img (SDEdit) from `strength`.
 * Both take few steps: RePaint with 10 DDIM-like steps (eta 0) and two resampling passes over jumps of 2 steps
 * (26 model evaluations), and DPM-Solver++ 2M with Karras sigmas, 10 steps of which the last floor(10 · strength)
 * run. Plain JavaScript; `lib` is the library's module (dist/bindings/index.js), so Node runs the same edits.
 */
import { editInputs } from './strokes.js';

/** The edits' settings. */
export const EDIT_SETTINGS = { steps: 10, jumpLength: 2, jumpNSample: 3, eta: 0 };

/** The options of the model's stored scheduler config that are its schedule (the rest are other samplers'). */
const SCHEDULE_KEYS = ['numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'trainedBetas', 'predictionType', 'clipSample', 'clipSampleRange'];

/**
 * The pipeline and the generate options of an edit request { mode, ink, strength, batchSize, seed, classLabel,
 * guidance, convolutions } for a loaded model { model, metadata }. The options hold two tensors (image, maskImage): the caller
 * disposes them (`disposeEdit`).
 */
export function editRun(lib, { model, metadata }, { mode, ink, strength, batchSize, seed, classLabel, guidance, convolutions }) {
  const shape = metadata.data.sampleShape;
  const { image, mask } = editInputs(ink, shape);
  const stored = Object.fromEntries(Object.entries(metadata.scheduler).filter(([key]) => SCHEDULE_KEYS.includes(key)));
  const options = {
    batchSize, seed, numInferenceSteps: EDIT_SETTINGS.steps, image: lib.Tensor.from(image, [1, ...shape]), ...(convolutions && { convolutions }),
  };
  if (model.numClasses > 0) {
    options.classLabels = new Int32Array(batchSize).fill(classLabel);
    if (guidance !== 1) options.guidanceScale = guidance;
  }
  if (mode === 'complete') {
    const { jumpLength, jumpNSample, eta } = EDIT_SETTINGS;
    Object.assign(options, { maskImage: lib.Tensor.from(mask, [1, 1, shape[1], shape[2]]), jumpLength, jumpNSample, eta });
    return { pipeline: new lib.RePaintPipeline({ model, scheduler: lib.RePaintScheduler.fromConfig(stored) }), options };
  }
  if (mode !== 'clean') throw new Error(`unknown edit mode '${mode}': 'complete' or 'clean'`);
  options.strength = strength;
  // As `ddpm sample --sampler dpmsolver++ --karras`: a model trained with clipped x0 gets the same clip (thresholding at 1).
  const trained = lib.DDPMScheduler.fromConfig(stored).config;
  const clip = trained.clipSample && trained.clipSampleRange === 1 ? { thresholding: true, sampleMaxValue: 1 } : {};
  const scheduler = lib.DPMSolverMultistepScheduler.fromConfig(stored, { useKarrasSigmas: true, ...clip });
  return { pipeline: new lib.DiffusionPipeline({ model, scheduler }), options };
}

/** Frees the tensors of an edit's options. */
export function disposeEdit(options) {
  options.image?.dispose();
  options.maskImage?.dispose();
}
