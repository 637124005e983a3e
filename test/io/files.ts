/**
 * Real model files and training states for the file tests, and ways to take them apart: a tiny MLP trained
 * for two steps on the 8-mode toy (its model file and its training state), the header and data of any
 * safetensors bytes, and rebuilding bytes from an edited header.
 */
import {
  DDPMScheduler, describeData, encodeModel, encodeTrainingState, MLPDenoiser, toyDataset, Trainer,
} from '../../bindings/index.ts';

export const TOY_CONFIG = { hiddenSize: 16, numBlocks: 2 };
/** The toy data (built on first use: the wasm core must be loaded). */
const toy = () => toyDataset('gaussian8', 256, 3);

/** A trainer of the tiny MLP (the same config and options every time). */
export function toyTrainer(): Trainer {
  return new Trainer({
    model: new MLPDenoiser(TOY_CONFIG, 0), scheduler: new DDPMScheduler({ numTrainTimesteps: 50 }),
    dataset: toy(), batchSize: 8, learningRate: 1e-3, warmupSteps: 2, seed: 0,
  });
}

/** The model file and training state of the tiny MLP after two steps. */
export async function toyFiles(): Promise<{ model: Uint8Array; state: Uint8Array }> {
  const trainer = toyTrainer();
  for await (const _ of trainer.run({ steps: 2 })) { /* train */ }
  const meta = { scheduler: trainer.scheduler.config, data: describeData(trainer.dataset) };
  const files = {
    model: encodeModel(trainer.model, { ...meta, training: { steps: trainer.step, options: trainer.options } }, trainer.ema),
    state: encodeTrainingState(trainer, meta),
  };
  await trainer.dispose();
  return files;
}

/** The JSON header and the data of safetensors bytes (no checks: the bytes are the tests' own). */
export function split(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), data: bytes.subarray(8 + length) };
}

/** Safetensors bytes from a header (object or raw JSON text) and data. */
export function join(header: Record<string, unknown> | string, data: Uint8Array): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** `bytes` with its ddpm_wasm metadata edited by `edit` (which may change it in place or return a new value). */
export function editMetadata(bytes: Uint8Array, edit: (meta: any) => unknown): Uint8Array {
  const { header, data } = split(bytes);
  const meta = JSON.parse(header.__metadata__.ddpm_wasm);
  const result = edit(meta);
  header.__metadata__.ddpm_wasm = JSON.stringify(result === undefined ? meta : result);
  return join(header, data);
}

/** `bytes` with the float32 at element `index` of tensor `name` set to `value`. */
export function setValue(bytes: Uint8Array, name: string, index: number, value: number): Uint8Array {
  const { header, data } = split(bytes);
  const copy = new Uint8Array(data);
  new DataView(copy.buffer).setFloat32(header[name].data_offsets[0] + 4 * index, value, true);
  return join(header, copy);
}
