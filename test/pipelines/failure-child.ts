/**
 * Run by failures.test.ts in a fresh process: `node --import tsx failure-child.ts fresh|failures`. Builds a tiny
 * class-conditional U-Net and a toy trainer, then (in 'failures' mode) makes 50 calls that fail in every way the
 * library can fail mid-call (a scheduler error after the model ran, an error thrown by onStep, out of memory in
 * the middle of sampling and of a training step, a dataset that throws, a trainer too large to build, model
 * files that are refused after their model was built); finally one good sampling call. Prints the WebAssembly
 * memory in use and a digest of the good call's samples, as JSON.
 */
import {
  ArrayDataset, DDIMPipeline, DDIMScheduler, DDPMScheduler, decodeModel, encodeModel, init, memoryStats, MLPDenoiser,
  setMemoryLimit, Trainer, UNet2DModel,
} from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';

await init();
const mode = process.argv[2];

const model = new UNet2DModel({ sampleSize: 8, inChannels: 1, blockOutChannels: [8, 8], layersPerBlock: 1, normNumGroups: 4, attentionResolutions: [4], numClassEmbeds: 3 }, 1);
const pipeline = new DDIMPipeline({ model, scheduler: new DDIMScheduler({ numTrainTimesteps: 100 }) });
const labels = (n: number) => Int32Array.from({ length: n }, (_, i) => i % 3);
const points = new ArrayDataset('points', seededFloats(2 * 64, 5), [2]);
const trainer = new Trainer({ model: new MLPDenoiser({ hiddenSize: 16, numBlocks: 1 }), scheduler: new DDPMScheduler({ numTrainTimesteps: 50 }), dataset: points, batchSize: 16 });
/** A model whose trainer (67 copies of its 270k parameters) cannot be built under the failures' memory limit. */
const wide = new MLPDenoiser({ hiddenSize: 256, numBlocks: 2 });
const goodFile = encodeModel(new MLPDenoiser({ hiddenSize: 8 }), { scheduler: {}, data: { name: 'points', sampleShape: [2], classNames: [] }, training: { steps: 0 } });

/** A file whose model is built and then refused (its data says 3-D samples). */
const refusedFile = (() => {
  const length = new DataView(goodFile.buffer).getUint32(0, true);
  const text = new TextDecoder().decode(goodFile.subarray(8, 8 + length)).replace('"sampleShape\\":[2]', '"sampleShape\\":[3]');
  const header = new TextEncoder().encode(text);
  const out = new Uint8Array(goodFile.length);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 8);
  out.set(goodFile.subarray(8 + length), 8 + header.length);
  return out;
})();

const failures: (() => Promise<unknown>)[] = [
  // The scheduler refuses eta at the first step, after the model's forward pass.
  () => pipeline.generate({ batchSize: 4, numInferenceSteps: 5, classLabels: labels(4), eta: 1e6 }),
  // The caller's onStep throws in the middle of the run.
  () => pipeline.generate({ batchSize: 4, numInferenceSteps: 5, classLabels: labels(4), guidanceScale: 2, onStep: ({ index }) => { if (index === 2) throw new Error('stop'); } }),
  // Out of memory in the middle of a step: x fits, the activations do not.
  async () => {
    setMemoryLimit(memoryStats().heapBytes + 2 ** 20);
    try { return await pipeline.generate({ batchSize: 512, numInferenceSteps: 2, classLabels: labels(512) }); } finally { setMemoryLimit(null); }
  },
  // Out of memory in a training step, and a trainer too large to build.
  async () => {
    setMemoryLimit(memoryStats().heapBytes + 2 ** 16);
    try {
      return new Trainer({ model: wide, scheduler: trainer.scheduler, dataset: points, batchSize: 64, gradientShards: 64 });
    } finally { setMemoryLimit(null); }
  },
  // A dataset that fails after the batch's tensors were allocated.
  async () => {
    const broken = Object.create(points, { batch: { value: () => { points.batch(Int32Array.of(0, 1)); throw new Error('disk gone'); } } });
    const t = new Trainer({ model: trainer.model, scheduler: trainer.scheduler, dataset: broken, batchSize: 16 });
    try { return await t.trainStep(); } finally { await t.dispose(); }
  },
  async () => decodeModel(refusedFile, 'refused.safetensors'),
];

if (mode === 'failures') {
  const messages = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const outcome = await failures[i % failures.length]().then(() => 'succeeded', (error: Error) => error.message.split(':')[0]);
    messages.add(outcome);
  }
  if (messages.has('succeeded')) throw new Error(`a call meant to fail succeeded: ${[...messages].join(' | ')}`);
}
await trainer.trainStep();
const out = await pipeline.generate({ batchSize: 4, numInferenceSteps: 3, classLabels: labels(4), guidanceScale: 2 });
const samples = out.toFloat32Array();
out.dispose();
const digest = Array.from(samples.subarray(0, 8));
process.stdout.write(JSON.stringify({ liveBytes: memoryStats().liveBytes, digest, step: trainer.step }));
