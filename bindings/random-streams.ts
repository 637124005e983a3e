/**
 * Every random stream of the library, named once. A random number is addressed by (seed, stream, offset)
 * (ops/random.ts); two uses of randomness stay independent only while their streams differ, so every stream id
 * lives in this one table and test/random-streams.test.ts fails when two collide (dropout's per-layer streams,
 * hashed from layer names, included).
 */
export const STREAMS = {
  /** Parameter initialisation: each parameter at its offset in the flat parameter table (nn/parameters.ts). */
  parameterInit: 0x1417,
  /** The data order: a permutation per epoch (data/dataset.ts). */
  dataOrder: 0x0d47a,
  /** The colors of colored-mnist, one per digit (data/mnist.ts). */
  coloredMnistColors: 0xc0102,
  /** The 2-D toys: which mode or branch, and the Gaussian jitter (data/toys.ts). */
  toyChoice: 0x70e1,
  toyNoise: 0x70e2,
  /** Diffusion training: timesteps, noise, classifier-free label dropout (train/). */
  trainTimesteps: 0x7101,
  trainNoise: 0x7102,
  trainLabelDrop: 0x7103,
  /** Importance-sampled timesteps after the warm-up (train/timestep-sampler.ts): a uniform number per sample. */
  trainTimestepsImportance: 0x7104,
  /** Offset noise: one normal number per (sample, channel) (train/trainer.ts). */
  trainNoiseOffset: 0x7105,
  /** Label dropout per attribute of a model with labels per attribute: a uniform number per (sample, attribute). */
  trainAttributeDrop: 0x7106,
  /** Progressive distillation: the student timestep of each sample, and its noise (train/distillation.ts). */
  distillationTimesteps: 0x7301,
  distillationNoise: 0x7302,
  /** Noise-aware classifier training: timesteps and noise. */
  classifierTimesteps: 0x7201,
  classifierNoise: 0x7202,
  /** Sampling: the initial noise x_T (pipelines/) and each step's noise (schedulers/). */
  initialNoise: 0x696e6974, // 'init'
  samplerNoise: 0x73636864, // 'schd'
  /** RePaint's undo steps: the forward noise of each training timestep a jump re-noises (schedulers/repaint.ts). */
  repaintUndoNoise: 0x756e646f, // 'undo'
  /** The Langevin corrector's noise of the score-SDE predictor-corrector sampler (schedulers/score-sde-pc.ts). */
  langevinNoise: 0x6c616e67, // 'lang'
  /** The variational bound: the x_t of each term, by (timestep, example) (likelihood/bound.ts). */
  likelihoodNoise: 0x6e6c6c, // 'nll'
  /** The editing evaluation's spoiled digits: which stroke pixels are removed, and the noise added (scripts/evaluate-editing.ts). */
  editingEvalErase: 0x5901,
  editingEvalNoise: 0x5902,
} as const;

export type StreamName = keyof typeof STREAMS;

/**
 * The stream of a dropout layer: FNV-1a (32 bits) of its name, so a layer's mask depends on nothing but the
 * architecture. Integer arithmetic only.
 */
export function dropoutStream(layerName: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < layerName.length; i++) hash = Math.imul(hash ^ layerName.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
