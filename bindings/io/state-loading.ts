/**
 * Restoring a trainer from a training state, with every check done before anything of the trainer changes:
 * the header and metadata (a whole number of steps), the model kind, config and training options of the run,
 * exactly the four flat buffers (params, ema, adam.m, adam.v) with the model's parameter count, every value
 * finite and every second moment >= 0. A state that fails any check is refused with its reason, and the trainer
 * (and so what a run would write next) is left as it was.
 */
import type { Tensor } from '../tensor.ts';
import type { Trainer } from '../train/trainer.ts';
import { readMetadata } from './metadata.ts';
import { readSafetensorsHeader, readTensorData } from './safetensors.ts';

/** The buffers of a training state, in the order they are written. */
export const STATE_TENSORS = ['params', 'ema', 'adam.m', 'adam.v'] as const;

/** Restores `trainer` (built with the run's model config and options) from training-state bytes. */
export function restoreTrainer(trainer: Trainer, bytes: Uint8Array, source: string): void {
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes, source);
  const meta = readMetadata(metadata, source);
  const model = trainer.model;
  if (meta.kind !== model.kind) throw new Error(`${source} holds the state of a '${meta.kind}' model, not of a '${model.kind}'`);
  if (JSON.stringify(meta.config) !== JSON.stringify(model.config)) {
    throw new Error(`${source} was written for another model config: ${JSON.stringify(meta.config)}, not ${JSON.stringify(model.config)}`);
  }
  for (const [key, value] of Object.entries(meta.training.options ?? {})) {
    const mine = (trainer.options as Record<string, unknown>)[key];
    if (mine !== value) throw new Error(`${source} was trained with ${key} = ${value}; resuming with ${key} = ${mine} would not continue the same run`);
  }
  const names = entries.map((entry) => entry.name);
  const missing = STATE_TENSORS.filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`${source} is not a complete training state: it has no ${missing.map((n) => `'${n}'`).join(', ')}`);
  const unexpected = names.filter((name) => !(STATE_TENSORS as readonly string[]).includes(name));
  if (unexpected.length > 0) throw new Error(`${source} holds tensors a training state does not have: ${unexpected.slice(0, 3).join(', ')}`);
  const size = model.params.size;
  for (const entry of entries) {
    if (entry.shape.length !== 1 || entry.shape[0] !== size) {
      throw new Error(`${source}: '${entry.name}' is [${entry.shape.join(', ')}], but the model has ${size} parameters (it must be [${size}])`);
    }
  }
  const values = new Map(entries.map((entry) => [entry.name, readTensorData(bytes, dataStart, entry)]));
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
  trainer.step = meta.training.steps;
}
