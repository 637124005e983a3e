/**
 * Reading the fixtures made by the real diffusers (scripts/fixtures/*.py) for the diffusers tests, and the table
 * of what this library can build of each UNet2DModel config today.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, type NamedTensor } from '../../bindings/io/safetensors.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const UNET_FIXTURES = join(ROOT, 'test/fixtures/unet2d');
export const FOLDER_FIXTURE = join(ROOT, 'test/fixtures/diffusers-folder');
export const CONFIG_FIXTURES = join(ROOT, 'test/fixtures/diffusers-configs');

export const text = (path: string): string => readFileSync(path, 'utf8');

/** The fixture names of test/fixtures/unet2d (one .json and one .safetensors each). */
export const unetFixtureNames = (): string[] =>
  readdirSync(UNET_FIXTURES).filter((f) => f.endsWith('.safetensors')).map((f) => f.slice(0, -'.safetensors'.length)).sort();

export interface UNetFixture {
  config: string;
  weights: Map<string, NamedTensor>;
  sample: NamedTensor;
  timesteps: Float32Array;
  classLabels: NamedTensor | null;
  output: NamedTensor;
}

export function readUNetFixture(name: string): UNetFixture {
  const { tensors } = decodeSafetensors(readFileSync(join(UNET_FIXTURES, `${name}.safetensors`)), `${name}.safetensors`);
  const weights = new Map([...tensors].filter(([key]) => !key.startsWith('input.') && !key.startsWith('output.')));
  return {
    config: text(join(UNET_FIXTURES, `${name}.json`)), weights, sample: tensors.get('input.sample')!,
    timesteps: tensors.get('input.timesteps')!.data, classLabels: tensors.get('input.class_labels') ?? null,
    output: tensors.get('output.sample')!,
  };
}

/** Every file of a folder, path relative to it -> bytes. */
export function readTree(dir: string, prefix = ''): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [p, b] of readTree(dir, path)) files.set(p, b);
    else files.set(path, new Uint8Array(readFileSync(join(dir, path))));
  }
  return files;
}

/** The 31 UNet2DModel configs of test/fixtures/unet2d: this library builds every one (it once named the options it could not). */
export const EXPECTED: Record<string, 'builds'> = Object.fromEntries([
  'base', 'mnist', 'colored-mnist', 'head-dim-none', 'class-embeds', 'no-mid-attention', 'scale-shift-attn-groups', 'ddpm-cifar10-32',
  'resnet-blocks', 'resnet-sampling', 'head-dim-2', 'head-dim-uneven', 'class-timestep', 'class-identity', 'time-flip-false',
  'time-shift-1', 'time-fourier', 'time-fourier-sigmas', 'time-learned', 'downsample-padding-0', 'norm-eps', 'center-input', 'act-mish',
  'act-gelu', 'act-relu', 'mid-scale', 'non-square', 'scale-shift', 'attn-norm-groups', 'skip-blocks', 'attn-skip-blocks',
].map((name) => [name, 'builds' as const]));
