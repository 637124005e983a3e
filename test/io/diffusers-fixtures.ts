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

/**
 * What this library builds of each fixture today: 'builds' (the translated config must give diffusers' output),
 * or the diffusers options the error must name, each as `key value` exactly as the file reads. When the model
 * learns an option, its fixtures move to 'builds'.
 */
export const EXPECTED: Record<string, 'builds' | string[]> = {
  'base': 'builds',
  'mnist': 'builds',
  'colored-mnist': 'builds',
  'head-dim-none': 'builds',
  'class-embeds': 'builds',
  'no-mid-attention': 'builds',
  'scale-shift-attn-groups': 'builds',
  'ddpm-cifar10-32': ['downsample_padding 0', 'flip_sin_to_cos false', 'freq_shift 1', 'norm_eps 1e-06'],
  'resnet-blocks': ["down_block_types[0] 'ResnetDownsampleBlock2D'", "down_block_types[1] 'ResnetDownsampleBlock2D'",
    "up_block_types[1] 'ResnetUpsampleBlock2D'", "up_block_types[2] 'ResnetUpsampleBlock2D'"],
  'resnet-sampling': ["downsample_type 'resnet'", "upsample_type 'resnet'"],
  'head-dim-2': ['attention_head_dim 2 (2, 4 heads at 4, 8 channels'],
  'head-dim-uneven': ['attention_head_dim 3 (it does not divide the 4 channels'],
  'class-timestep': ["class_embed_type 'timestep'"],
  'class-identity': ["class_embed_type 'identity'"],
  'time-flip-false': ['flip_sin_to_cos false'],
  'time-shift-1': ['freq_shift 1'],
  'time-fourier': ["time_embedding_type 'fourier'"],
  'time-fourier-sigmas': ["time_embedding_type 'fourier'"],
  'time-learned': ["time_embedding_type 'learned'"],
  'downsample-padding-0': ['downsample_padding 0'],
  'norm-eps': ['norm_eps 0.05'],
  'center-input': ['center_input_sample true'],
  'act-mish': ["act_fn 'mish'"],
  'act-gelu': ["act_fn 'gelu'"],
  'act-relu': ["act_fn 'relu'"],
  'mid-scale': ['mid_block_scale_factor 1.4142135623730951'],
  'non-square': ['sample_size [8, 12]'],
  'scale-shift': ["attn_norm_num_groups null (with resnet_time_scale_shift 'scale_shift'"],
  'attn-norm-groups': ['attn_norm_num_groups 1'],
  'skip-blocks': ["down_block_types[0] 'SkipDownBlock2D'", "up_block_types[1] 'SkipUpBlock2D'"],
  'attn-skip-blocks': ["down_block_types[0] 'AttnSkipDownBlock2D'", "up_block_types[1] 'AttnSkipUpBlock2D'"],
};
