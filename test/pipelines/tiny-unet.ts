/**
 * The tiny UNet2DModel of test/fixtures/ddim-torch-noise (a diffusers folder made by scripts/fixtures/ddim_torch_noise.py,
 * random weights) in this library, and diffusers' output_type 'np' images: what the replays of diffusers
 * pipelines (torch-noise-replay, repaint-replay) share.
 */
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { decodeSafetensors, UNet2DModel } from '../../bindings/index.ts';

const folder = new URL('../fixtures/ddim-torch-noise/', import.meta.url);
const unetConfig = JSON.parse(readFileSync(new URL('unet/config.json', folder), 'utf8'));

/** The folder's UNet in this library: the same network for this config (checked name by name, shape by shape). */
export function loadTinyUNet(): UNet2DModel {
  const c = unetConfig;
  assert.equal([c.flip_sin_to_cos, c.freq_shift, c.downsample_padding, c.norm_eps, c.resnet_time_scale_shift],
    [true, 0, 1, 1e-5, 'default'], 'the config uses only what UNet2DModel expresses');
  const model = new UNet2DModel({
    sampleSize: c.sample_size, inChannels: c.in_channels, outChannels: c.out_channels, blockOutChannels: c.block_out_channels,
    layersPerBlock: c.layers_per_block, normNumGroups: c.norm_num_groups, midBlockAttention: c.add_attention,
    attentionResolutions: [c.sample_size / 2], numHeads: c.block_out_channels[1] / c.attention_head_dim,
  });
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(new URL('unet/diffusion_pytorch_model.safetensors', folder))));
  const ours = model.params.parameters;
  assert.equal(ours.map((p) => p.name).sort(), [...tensors.keys()].sort(), 'parameter names');
  for (const p of ours) {
    const t = tensors.get(p.name)!;
    assert.equal(t.shape, [...p.shape], `shape of ${p.name}`);
    p.value!.view().set(t.data);
  }
  return model;
}

/** Images [N, H, W, C] in [0, 1] as diffusers' output_type 'np' makes them from x in [-1, 1] (NCHW). */
export function toImages(values: Float32Array, [n, ch, h, w]: number[]): Float32Array {
  const images = new Float32Array(values.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < ch; k++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) {
    images[((i * h + y) * w + z) * ch + k] = Math.min(1, Math.max(0, values[((i * ch + k) * h + y) * w + z] / 2 + 0.5));
  }
  return images;
}
