/**
 * onnxruntime-web (wasm backend, SIMD, one thread) running the shipped U-Nets as the real diffusers exports them:
 * bench/fixtures/<model>.onnx, made by scripts/fixtures/onnx_export.py, whose weights are ONNX external data
 * pointing into the float32 copy of models/<model>.safetensors (shipped in float16; the graph file holds no copy of
 * the weights). The benchmark makes that copy in memory, checks it is the one the graph was made from (its
 * SHA-256), and every output against ours.
 * Loaded lazily: without the package the sampler section says so and measures the rest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { convertModelFile } from '../bindings/models/model-file.ts';
import { packageFile } from './package-files.ts';

type Ort = typeof import('onnxruntime-web');

/** One session per batch size: the batch dimension is fixed when the session is made, so onnxruntime can fold
 * the exported graph's shape arithmetic, as it would for a sampler of fixed batch. */
export interface OnnxUNet {
  version: string;
  /** The forward at batch x.length / (C·H·W): resolves to the output, [N, C, H, W] flattened. */
  run(x: Float32Array, timesteps: Int32Array, labels: Int32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

let ort: Ort | null = null;

/** onnxruntime-web configured for the wasm backend on one thread, or the reason it cannot load or run. */
export async function loadOrt(): Promise<{ ort: Ort | null; reason?: string }> {
  if (ort) return { ort };
  // The ONNX graphs stay in the repository (bench/fixtures/); the installed package does not ship them.
  if (!existsSync(packageFile('bench/fixtures/mnist.onnx'))) {
    return { ort: null, reason: 'no onnxruntime-web comparison: its ONNX graphs (bench/fixtures/) are in the repository, not in the package' };
  }
  try {
    const module = await import('onnxruntime-web');
    module.env.wasm.numThreads = 1;
    module.env.wasm.simd = true;
    ort = module;
    return { ort };
  } catch (error) {
    return { ort: null, reason: `onnxruntime-web could not be loaded (${(error as Error).message.split('\n')[0]}); install the devDependencies with npm install --ignore-scripts` };
  }
}

/** The session of `model` ('mnist' or 'colored-mnist') at batch N, input [N, C, S, S]. */
export async function onnxUNet(module: Ort, model: string, N: number, sampleShape: readonly number[]): Promise<OnnxUNet> {
  const graph = readFileSync(packageFile(`bench/fixtures/${model}.onnx`));
  const meta = JSON.parse(readFileSync(packageFile(`bench/fixtures/${model}.onnx.json`), 'utf8')) as { source: string; float32_sha256: string };
  const weights = convertModelFile(readFileSync(packageFile(meta.source)), { dtype: 'F32' }, meta.source);
  const digest = createHash('sha256').update(weights).digest('hex');
  if (digest !== meta.float32_sha256) {
    throw new Error(`bench/fixtures/${model}.onnx was made from another ${meta.source} (its float32 copy's SHA-256 is ` +
      `${meta.float32_sha256.slice(0, 12)}..., this one's ${digest.slice(0, 12)}...): run scripts/fixtures/onnx_export.py again`);
  }
  const session = await module.InferenceSession.create(graph, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', freeDimensionOverrides: { N },
    externalData: [{ path: `${model}.safetensors`, data: weights }],
  });
  const shape = [N, ...sampleShape];
  return {
    version: module.env.versions.web ?? 'unknown',
    async run(x, timesteps, labels) {
      const feeds = {
        sample: new module.Tensor('float32', x, shape),
        timestep: new module.Tensor('int64', BigInt64Array.from(timesteps, (t) => BigInt(t)), [N]),
        class_labels: new module.Tensor('int64', BigInt64Array.from(labels, (l) => BigInt(l)), [N]),
      };
      const { out } = await session.run(feeds);
      return out.data as Float32Array;
    },
    release: () => session.release(),
  };
}
