/**
 * Training states: everything a resumed run needs to continue bit for bit, as a .safetensors file: the
 * parameters, the EMA, AdamW's moments (flat, laid out like the parameters), the step, the importance sampler's
 * loss history when timesteps are importance-sampled, and the model file's metadata with the trainer's options.
 * The data order and every random draw are functions of (seed, step) and that history, so nothing else is needed.
 *
 * Restoring checks everything before anything of the trainer changes: the header and metadata (a whole number
 * of steps), the model kind, config and training options of the run (an unknown option is named with the nearest
 * known one), exactly the four flat buffers with the model's parameter count, every value finite and every second
 * moment >= 0. A state that fails any check is refused with its reason, and the trainer (so what the run would
 * write next) is left as it was.
 */
import { unknownKeyMessage } from '../core/names.ts';
import { encodeSafetensors, readSafetensorsHeader, readTensorData } from '../io/safetensors.ts';
import { FORMAT_VERSION, readMetadata, type ModelMetadata } from '../models/model-file.ts';
import type { Tensor } from '../tensor.ts';
import { HISTORY_PER_TERM } from './timestep-sampler.ts';
import { LOSS_OPTION_DEFAULTS, type Trainer } from './trainer.ts';

/** The buffers of a training state, in the order they are written. */
export const STATE_TENSORS = ['params', 'ema', 'adam.m', 'adam.v'] as const;
/** The importance sampler's buffers (timestepSampling 'importance'): [T, 10] losses and [T] counts, float32. */
export const SAMPLER_TENSORS = ['timesteps.loss_history', 'timesteps.loss_counts'] as const;

/** The bytes of a training state: parameters, EMA, AdamW moments and the step, plus the model file's metadata. */
export function encodeTrainingState(trainer: Trainer, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config' | 'training'>): Uint8Array {
  const flat = (name: string, t: Tensor) => ({ name, shape: [t.size], data: t.toFloat32Array() });
  const metadata: ModelMetadata = {
    version: FORMAT_VERSION, kind: trainer.model.kind as ModelMetadata['kind'], config: trainer.model.config, ...meta,
    training: { steps: trainer.step, options: trainer.storedOptions },
  };
  const sampler = trainer.timestepSampler?.state();
  return encodeSafetensors([
    flat('params', trainer.model.params.values), flat('ema', trainer.ema), flat('adam.m', trainer.adamM), flat('adam.v', trainer.adamV),
    ...(sampler ? [
      { name: SAMPLER_TENSORS[0], shape: [sampler.counts.length, HISTORY_PER_TERM], data: sampler.history },
      { name: SAMPLER_TENSORS[1], shape: [sampler.counts.length], data: sampler.counts },
    ] : []),
  ], { ddpm_wasm: JSON.stringify(metadata) });
}

/** Restores a trainer built with the same model config and options from a training state (see above). */
export function restoreTrainingState(trainer: Trainer, bytes: Uint8Array, source = 'the training state'): void {
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes, source);
  const meta = readMetadata(metadata, source);
  const model = trainer.model;
  if (meta.kind !== model.kind) throw new Error(`${source} holds the state of a '${meta.kind}' model, not of a '${model.kind}'`);
  if (JSON.stringify(meta.config) !== JSON.stringify(model.config)) {
    throw new Error(`${source} was written for another model config: ${JSON.stringify(meta.config)}, not ${JSON.stringify(model.config)}`);
  }
  const options = trainer.options as Readonly<Record<string, unknown>>;
  // The loss options are recorded only when they differ from their defaults: an absent one was the default.
  const stored = { ...LOSS_OPTION_DEFAULTS, ...meta.training.options };
  for (const [key, value] of Object.entries(stored)) {
    if (!(key in options)) throw new Error(`${source}: ${unknownKeyMessage('the training options', 'key', key, Object.keys(options))}`);
    if (options[key] !== value) throw new Error(`${source} was trained with ${key} = ${value}; resuming with ${key} = ${options[key]} would not continue the same run`);
  }
  const names = entries.map((entry) => entry.name);
  const expected: readonly string[] = trainer.timestepSampler ? [...STATE_TENSORS, ...SAMPLER_TENSORS] : STATE_TENSORS;
  const missing = expected.filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`${source} is not a complete training state: it has no ${missing.map((n) => `'${n}'`).join(', ')}`);
  const unexpected = names.filter((name) => !expected.includes(name));
  if (unexpected.length > 0) throw new Error(`${source} holds tensors a training state does not have: ${unexpected.slice(0, 3).join(', ')}`);
  const size = model.params.size;
  for (const entry of entries) {
    if ((SAMPLER_TENSORS as readonly string[]).includes(entry.name)) continue;
    if (entry.shape.length !== 1 || entry.shape[0] !== size) {
      throw new Error(`${source}: '${entry.name}' is [${entry.shape.join(', ')}], but the model has ${size} parameters (it must be [${size}])`);
    }
  }
  const values = new Map(entries.map((entry) => [entry.name, readTensorData(bytes, dataStart, entry)]));
  const sampler = trainer.timestepSampler;
  const samplerState = sampler && { history: values.get(SAMPLER_TENSORS[0])!, counts: values.get(SAMPLER_TENSORS[1])! };
  const samplerProblem = sampler && sampler.check(samplerState!);
  if (samplerProblem) throw new Error(`${source}: the importance sampler's state is damaged: ${samplerProblem}; resume from a good copy or start again`);
  for (const name of SAMPLER_TENSORS) values.delete(name);
  for (const [name, data] of values) {
    const bad = data.findIndex((v) => !Number.isFinite(v) || (name === 'adam.v' && v < 0));
    if (bad >= 0) {
      throw new Error(`${source}: '${name}' holds ${data[bad]} at element ${bad}` +
        `${Number.isFinite(data[bad]) ? ' (a second moment is never negative)' : ''}; the state is damaged, resume from a good copy or start again`);
    }
  }
  const targets: Record<(typeof STATE_TENSORS)[number], Tensor> = {
    params: model.params.values, ema: trainer.ema, 'adam.m': trainer.adamM, 'adam.v': trainer.adamV,
  };
  for (const name of STATE_TENSORS) targets[name].view().set(values.get(name)!);
  if (sampler) sampler.restore(samplerState!);
  trainer.step = meta.training.steps;
}
