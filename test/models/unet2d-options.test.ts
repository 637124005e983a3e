// UNet2DModel with diffusers' options beyond the DDPM defaults: a model-level gradient check (backward against
// central differences, every parameter tensor and the input) for a tiny config of each block family and option,
// the behaviours that set them apart (frozen Fourier frequencies, the skip image, per-item independence,
// inference = training bits), and the config errors, each one line naming the option. Forward values against the
// real diffusers are pinned by test/io/diffusers-config.test.ts (31 fixtures).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, resolveUNetConfig, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';
import { gradcheckModel } from './gradcheck.ts';

await init();

const TINY: UNet2DConfig = { sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2 };

interface Case {
  label: string;
  config: UNet2DConfig;
  timesteps: Int32Array | Float32Array;
  labels?: 'labels' | 'vectors';
  frozen?: string[];
}

// act_fn 'relu' is not in these checks: a ReLU U-Net's loss is piecewise linear with kinks so dense that central
// differences with h = 1e-2 cross dozens of them (measured on this tiny U-Net: conv_in.weight's numeric derivative
// -0.97, -1.05, -1.14, -1.19 for h = 1e-2 .. 3e-4, approaching the analytic -1.29). Its backward is the same
// Activation module as GELU's and Mish's (checked here), and its kernel is checked against float64 and PyTorch.
const CASES: Case[] = [
  {
    label: 'BigGAN resampling blocks: ResnetDownsampleBlock2D / ResnetUpsampleBlock2D',
    config: { ...TINY, downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D'], upBlockTypes: ['AttnUpBlock2D', 'ResnetUpsampleBlock2D'], attentionHeadDim: 4 },
    timesteps: Int32Array.from([7, 640]),
  },
  {
    label: "downsampleType / upsampleType 'resnet', attention_head_dim 3 (narrower than the channels), dropout off",
    config: { ...TINY, blockOutChannels: [4, 8, 8], downBlockTypes: ['AttnDownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'], downsampleType: 'resnet', upsampleType: 'resnet', attentionHeadDim: 3 },
    timesteps: Int32Array.from([3, 999]),
  },
  {
    label: 'NCSN++ skip blocks (FIR resnets, the skip image down and up), downsample padding 0 elsewhere',
    config: { ...TINY, inChannels: 3, downBlockTypes: ['SkipDownBlock2D', 'SkipDownBlock2D'], upBlockTypes: ['SkipUpBlock2D', 'SkipUpBlock2D'], attentionHeadDim: null },
    timesteps: Int32Array.from([0, 500]),
  },
  {
    label: 'AttnSkipDownBlock2D / AttnSkipUpBlock2D (attention with 32 groups, output scale √2)',
    config: { sampleSize: 8, blockOutChannels: [32, 16], layersPerBlock: 1, normNumGroups: 4, attentionHeadDim: 8, downBlockTypes: ['AttnSkipDownBlock2D', 'SkipDownBlock2D'], upBlockTypes: ['SkipUpBlock2D', 'AttnSkipUpBlock2D'] },
    timesteps: Int32Array.from([11, 222]),
  },
  {
    label: "Fourier time features (fractional t, frequencies fixed), centred input, non-square samples, act_fn 'gelu'",
    config: { ...TINY, sampleSize: [8, 12], downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'], timeEmbeddingType: 'fourier', centerInputSample: true, actFn: 'gelu' },
    timesteps: Float32Array.from([0.25, 37.5]),
    frozen: ['time_proj.weight'],
  },
  {
    label: "learned time table with class_embed_type 'timestep', act_fn 'mish', norm_eps, mid_block_scale_factor, downsample_padding 0",
    config: { ...TINY, timeEmbeddingType: 'learned', numTrainTimesteps: 16, classEmbedType: 'timestep', actFn: 'mish', normEps: 1e-3, midBlockScaleFactor: Math.SQRT2, downsamplePadding: 0, attentionResolutions: [4] },
    timesteps: Int32Array.from([2, 15]),
    labels: 'labels',
  },
  {
    label: "class_embed_type 'identity', act_fn 'swish', AdaGN without the middle attention's GroupNorm, [sin, cos] with freq_shift 1",
    config: { ...TINY, classEmbedType: 'identity', actFn: 'swish', resnetTimeScaleShift: 'scale_shift', attnNormNumGroups: null, flipSinToCos: false, freqShift: 1, attentionResolutions: [4] },
    timesteps: Int32Array.from([100, 900]),
    labels: 'vectors',
  },
];

function classInput(model: UNet2DModel, kind: Case['labels'], N: number): Int32Array | Float32Array | null {
  if (kind === 'vectors') return seededFloats(N * model.plan.channels[0] * 4, 31);
  return kind === 'labels' ? Int32Array.from({ length: N }, (_, n) => (5 + 7 * n) % 16) : null;
}

for (const c of CASES) {
  test(`UNet2DModel gradient check (${c.label}): backward agrees with finite differences`, () => {
    const model = new UNet2DModel(c.config, 3);
    const [C, H, W] = model.sampleShape;
    tidy(() => {
      const x = Tensor.from(seededFloats(2 * C * H * W, 11), [2, C, H, W]);
      gradcheckModel(model, x, c.timesteps, classInput(model, c.labels, 2), seededFloats(2 * C * H * W, 12), c.frozen);
    });
  });
}

test('every option case: an item does not depend on the batch, and an inference pass gives the training bits', () => {
  for (const c of CASES) {
    const model = new UNet2DModel(c.config, 5);
    const [C, H, W] = model.sampleShape, per = C * H * W;
    tidy(() => {
      const x = Tensor.from(seededFloats(2 * per, 2), [2, C, H, W]);
      const labels = classInput(model, c.labels, 2);
      const all = model.forward(x, c.timesteps, labels).toFloat32Array();
      const inference = model.forward(x, c.timesteps, labels, { mode: 'inference' }).toFloat32Array();
      assert.equal(Array.from(inference), Array.from(all), `${c.label}: inference pass`);
      const second = labels === null ? null : labels instanceof Int32Array ? labels.subarray(1) : labels.subarray(labels.length / 2);
      const one = model.forward(x.subview(per, [1, C, H, W]), c.timesteps.subarray(1), second).toFloat32Array();
      assert.equal(Array.from(one), Array.from(all.subarray(per)), `${c.label}: item 2 alone`);
    });
  }
});

test("the skip image carries the input to the output: NCSN++'s output moves with the input even with conv_out at zero", () => {
  const model = new UNet2DModel(CASES[2].config, 1);
  model.params.get('conv_out.weight').value.view().fill(0);
  model.params.get('conv_out.bias').value.view().fill(0);
  tidy(() => {
    const x = Tensor.from(seededFloats(3 * 64, 4), [1, 3, 8, 8]);
    const out = model.forward(x, Int32Array.from([10])).toFloat32Array();
    assert.ok(out.some((v) => v !== 0), 'the skip image reaches the output');
  });
});

test('parameters carry diffusers\' names and shapes for the new blocks', () => {
  const shapes = (config: UNet2DConfig, names: string[]) => {
    const model = new UNet2DModel(config);
    return names.map((n) => `${n} ${model.params.get(n).shape.join('x')}`);
  };
  assert.equal(shapes(CASES[0].config, ['down_blocks.0.downsamplers.0.conv1.weight', 'up_blocks.1.resnets.1.conv_shortcut.weight']),
    ['down_blocks.0.downsamplers.0.conv1.weight 4x4x3x3', 'up_blocks.1.resnets.1.conv_shortcut.weight 4x8x1x1']);
  assert.equal(shapes(CASES[2].config, ['down_blocks.0.resnet_down.conv_shortcut.weight', 'down_blocks.0.skip_conv.weight', 'up_blocks.0.skip_conv.weight', 'up_blocks.0.skip_norm.weight']),
    ['down_blocks.0.resnet_down.conv_shortcut.weight 4x4x1x1', 'down_blocks.0.skip_conv.weight 4x3x1x1', 'up_blocks.0.skip_conv.weight 3x8x3x3', 'up_blocks.0.skip_norm.weight 8']);
  assert.equal(shapes(CASES[1].config, ['down_blocks.1.attentions.0.to_q.weight', 'down_blocks.1.attentions.0.to_out.0.weight']),
    ['down_blocks.1.attentions.0.to_q.weight 6x8', 'down_blocks.1.attentions.0.to_out.0.weight 8x6']);
  assert.equal(shapes(CASES[4].config, ['time_proj.weight', 'time_embedding.linear_1.weight']), ['time_proj.weight 4', 'time_embedding.linear_1.weight 16x8']);
  assert.equal(shapes(CASES[5].config, ['time_proj.weight', 'class_embedding.linear_1.weight']), ['time_proj.weight 16x4', 'class_embedding.linear_1.weight 16x4']);
});

test('stored configs: the base options with their defaults, the others only when they differ', () => {
  assert.equal(resolveUNetConfig({ sampleSize: 8, blockOutChannels: [4, 8], normNumGroups: 2, actFn: 'silu', normEps: 1e-5, attentionResolutions: [4] }), {
    sampleSize: 8, inChannels: 3, outChannels: 3, blockOutChannels: [4, 8], layersPerBlock: 2, attentionResolutions: [4], midBlockAttention: true,
    numHeads: 4, normNumGroups: 2, resnetTimeScaleShift: 'default', dropout: 0, numClassEmbeds: 0,
  });
  const stored = resolveUNetConfig({ ...TINY, sampleSize: [8, 8], downBlockTypes: ['DownBlock2D', 'ResnetDownsampleBlock2D'], attentionHeadDim: null, actFn: 'mish' });
  assert.equal(stored.sampleSize, 8);
  assert.equal(stored.upBlockTypes, ['ResnetUpsampleBlock2D', 'UpBlock2D'], 'the up blocks default to the down blocks mirrored');
  assert.equal([stored.attentionHeadDim, stored.actFn, 'numHeads' in stored, 'attentionResolutions' in stored], [null, 'mish', false, false]);
});

test('config errors name the option, the value and what is allowed, in one line', () => {
  const cases: [UNet2DConfig, RegExp][] = [
    [{ ...TINY, attentionResolutions: [4], downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'] }, /either as attentionResolutions \(a shorthand\) or as downBlockTypes \/ upBlockTypes, not both/],
    [{ ...TINY, numHeads: 2, attentionHeadDim: 4 }, /either as numHeads \(a count\) or as attentionHeadDim \(channels per head\), not both/],
    [{ ...TINY, attentionResolutions: [5] }, /attentionResolutions entry 5 matches no level \(the levels are 8, 4 pixels wide\)/],
    [{ ...TINY, sampleSize: [8, 12], attentionResolutions: [4] }, /attentionResolutions needs square samples \(sampleSize \[8, 12\]\); give downBlockTypes instead/],
    [{ ...TINY, sampleSize: [8, 7] }, /sampleSize \(\[8, 7\]\) must be divisible by 2 for 2 levels/],
    [{ ...TINY, upBlockTypes: ['UpBlock2D', 'UpBlock2D'] }, /upBlockTypes needs downBlockTypes/],
    [{ ...TINY, downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D' as never] }, /downBlockTypes must list one of DownBlock2D, AttnDownBlock2D, .* for each of the 2 levels/],
    [{ ...TINY, timeEmbeddingType: 'learned' }, /numTrainTimesteps \(the rows of the 'learned' time table\) must be a positive integer, got null/],
    [{ ...TINY, numTrainTimesteps: 10 }, /numTrainTimesteps applies to timeEmbeddingType 'learned' only, got 10 with 'positional'/],
    [{ ...TINY, classEmbedType: 'identity', numClassEmbeds: 3 }, /numClassEmbeds \(3\) is the label table's size; classEmbedType 'identity' has no table/],
    [{ ...TINY, actFn: 'tanh' as never }, /actFn must be 'silu' or 'swish' or 'mish' or 'gelu' or 'relu', got 'tanh'/],
    [{ ...TINY, downsamplePadding: 2 as never }, /downsamplePadding must be 1 or 0, got 2/],
    [{ ...TINY, midBlockScaleFactor: 0 }, /midBlockScaleFactor must be a positive number, got 0/],
    [{ ...TINY, normEps: -1 }, /normEps must be a positive number, got -1/],
    [{ ...TINY, attnNormNumGroups: 3 }, /attnNormNumGroups \(3\) must divide the middle block's 8 channels/],
    [{ ...TINY, freqShift: 2 }, /freqShift \(2\) must differ from blockOutChannels\[0\] \/ 2 = 2/],
    [{ ...TINY, numHeads: 3, attentionResolutions: [4] }, /numHeads \(3\) must divide the channels \(8\) of down_blocks.1.attentions/],
  ];
  for (const [config, pattern] of cases) {
    assert.throws(() => new UNet2DModel(config), (e: Error) => pattern.test(e.message) && e.message.startsWith('UNet2DModel: ') && !e.message.includes('\n'), String(pattern));
  }
});

test('inputs the new options need are checked: Fourier and learned timesteps, class labels and vectors', () => {
  tidy(() => {
    const x = Tensor.from(seededFloats(2 * 2 * 64, 1), [2, 2, 8, 8]);
    const fourier = new UNet2DModel({ ...TINY, timeEmbeddingType: 'fourier' });
    assert.throws(() => fourier.forward(x, Float32Array.from([1, 0])), /time_proj: timesteps must be positive \(the Fourier features take their log\), got 0 at index 1/);
    const learned = new UNet2DModel({ ...TINY, timeEmbeddingType: 'learned', numTrainTimesteps: 10 });
    assert.throws(() => learned.forward(x, Int32Array.from([3, 10])), /time_proj: timesteps must be integers in \[0, 10\) \(rows of the learned table\), got 10 at index 1/);
    assert.throws(() => learned.forward(x, Float32Array.from([0.5, 1])), /got 0.5 at index 0/);
    const identity = new UNet2DModel({ ...TINY, classEmbedType: 'identity' });
    assert.throws(() => identity.forward(x, Int32Array.from([1, 2]), Int32Array.from([0, 1])), /class_embed_type 'identity' needs a class vector of 16 per sample \(a Float32Array of 2 x 16\), got a Int32Array of 2/);
    const timestep = new UNet2DModel({ ...TINY, classEmbedType: 'timestep' });
    assert.throws(() => timestep.forward(x, Int32Array.from([1, 2])), /class_embed_type 'timestep' needs one integer label per sample \(an Int32Array of 2\), got none/);
    assert.is(timestep.numClasses, 0);
    const table = new UNet2DModel({ ...TINY, numClassEmbeds: 3 });
    assert.throws(() => table.forward(x, Int32Array.from([1, 2]), Float32Array.from([0, 1])), /class labels must be an Int32Array, got a Float32Array/);
  });
});

test.run();
