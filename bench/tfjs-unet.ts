/**
 * The benchmark's U-Net rebuilt in TensorFlow.js (wasm backend, NHWC), layer for layer as UNet2DModel builds it,
 * to time the same training step there: forward, `tf.train.adam` minimising the mean squared error.
 *
 * TF.js-wasm cannot train it as shipped: it has no kernel for a convolution's filter gradient (see the conv2d
 * rows). So every convolution here carries a hand-written gradient (`tf.customGrad`) made of forward convolutions:
 * dW as a convolution of transposed tensors (dilated for the stride-2 downsampler), dx as a convolution with the
 * filter turned 180° (the stride-2 one uses TF.js's own Conv2DBackpropInput). Group norm, SiLU and attention are
 * composites that TF.js differentiates itself. Left out, as elementwise and small: gradient clipping and the EMA.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { UNet2DConfig } from '../bindings/models/unet2d-config.ts';
import { baseUNetConfig, type BaseUNetConfig } from './flops.ts';
import { pseudoRandom } from './measure.ts';
import type { TfModule } from './tfjs.ts';

type T4 = tfTypes.Tensor4D;
type T2 = tfTypes.Tensor2D;

/** A training step of `config` on `batch` random images in TF.js; `parameters` counts its weights. */
export function tfUNetTrainer(tf: TfModule, config: UNet2DConfig, batch: number) {
  const c = baseUNetConfig(config);
  const layers = new Layers(tf, c.normNumGroups, batch);
  const model = buildUNet(layers, c);
  const S = c.sampleSize;
  const x = tf.tensor4d(pseudoRandom(batch * S * S * c.inChannels, 7), [batch, S, S, c.inChannels]);
  const target = tf.tensor4d(pseudoRandom(batch * S * S * c.inChannels, 8), [batch, S, S, c.inChannels]);
  const temb = tf.tensor2d(sinusoidal(batch, c.blockOutChannels[0]), [batch, c.blockOutChannels[0]]);
  const optimizer = tf.train.adam(2e-4);
  return {
    parameters: layers.variables.reduce((n, v) => n + v.size, 0),
    step: () => tf.tidy(() => {
      optimizer.minimize(() => model(x, temb).sub(target).square().mean() as tfTypes.Scalar, false, layers.variables);
    }),
    dispose: () => {
      for (const t of [x, target, temb, ...layers.variables]) t.dispose();
      optimizer.dispose();
    },
  };
}

/** Layer builders: each creates its variables once and returns the function that applies it. */
class Layers {
  readonly variables: tfTypes.Variable[] = [];
  private seed = 100;

  constructor(readonly tf: TfModule, readonly groups: number, readonly batch: number) {}

  /** PyTorch's default initialisation: uniform in ±1/sqrt(fan-in). */
  param(shape: number[], fanIn: number, fill?: number): tfTypes.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = fill === undefined ? pseudoRandom(size, this.seed++).map((v) => v / Math.sqrt(fanIn)) : new Float32Array(size).fill(fill);
    const initial = this.tf.tensor(values, shape);
    const v = this.tf.variable(initial);
    initial.dispose();
    this.variables.push(v);
    return v;
  }

  conv(C: number, K: number, R: number, stride = 1): (x: T4) => T4 {
    const w = this.param([R, R, C, K], C * R * R), b = this.param([K], C * R * R);
    const op = convWithGradient(this.tf, R, stride);
    return (x) => op(x, w as tfTypes.Tensor as T4).add(b);
  }

  linear(inF: number, outF: number): (x: T2) => T2 {
    const w = this.param([inF, outF], inF), b = this.param([outF], inF);
    return (x) => this.tf.matMul(x, w as tfTypes.Tensor as T2).add(b);
  }

  /** GroupNorm as a composite: channels split into groups, moments over (H, W, channels of the group). */
  norm(C: number): (x: T4) => T4 {
    const gamma = this.param([C], 1, 1), beta = this.param([C], 1, 0), G = this.groups;
    return (x) => {
      const [N, H, W] = x.shape;
      const grouped = x.reshape([N, H * W, G, C / G]);
      const { mean, variance } = this.tf.moments(grouped, [1, 3], true);
      return grouped.sub(mean).mul(this.tf.rsqrt(variance.add(1e-5))).reshape([N, H, W, C]).mul(gamma).add(beta);
    };
  }

  silu<X extends tfTypes.Tensor>(x: X): X {
    return x.mul(this.tf.sigmoid(x));
  }
}

/** conv2d (padding (R - 1) / 2, PyTorch's) with both gradients written as forward convolutions. */
function convWithGradient(tf: TfModule, R: number, stride: number) {
  const padding = (R - 1) >> 1;
  return tf.customGrad((x, w, save) => {
    (save as tfTypes.GradSaveFunc)([x as T4, w as T4]);
    const xs = x as T4, ws = w as T4;
    return {
      value: tf.conv2d(xs, ws, stride, padding),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [T4, T4];
        const dys = dy as T4;
        const dx = stride === 1
          ? tf.conv2d(dys, tf.reverse(ws, [0, 1]).transpose([0, 1, 3, 2]) as T4, 1, R - 1 - padding)
          : tf.conv2dTranspose(dys, ws, xs.shape, stride, padding);
        // dW[r, s, c, k] = Σ_{n, oh, ow} x[n, oh·stride + r - padding, ...][c] · dy[n, oh, ow][k]: a convolution
        // of x as C images of N channels with dy as an [OH, OW, N, K] filter, dilated by the stride.
        const dwFull = tf.conv2d(xs.transpose([3, 1, 2, 0]) as T4, dys.transpose([1, 2, 0, 3]) as T4, 1, padding, 'NHWC', stride);
        const dw = dwFull.slice([0, 0, 0, 0], [-1, R, R, -1]).transpose([1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  }) as (x: T4, w: T4) => T4;
}

/** diffusers' ResnetBlock2D with the 'default' time conditioning (the projected embedding added as a bias). */
function resnetBlock(L: Layers, tembChannels: number, inC: number, outC: number): (x: T4, t: T2) => T4 {
  const [n1, c1, proj, n2, c2] = [L.norm(inC), L.conv(inC, outC, 3), L.linear(tembChannels, outC), L.norm(outC), L.conv(outC, outC, 3)];
  const shortcut = inC !== outC ? L.conv(inC, outC, 1) : (x: T4) => x;
  return (x, t) => {
    const h = c1(L.silu(n1(x))).add(proj(t).reshape([x.shape[0], 1, 1, outC])) as T4;
    return c2(L.silu(n2(h))).add(shortcut(x)) as T4;
  };
}

/** Self-attention over the H·W tokens (NHWC makes them a plain reshape), `heads` heads, and the residual. */
function attentionBlock(L: Layers, heads: number, C: number): (x: T4) => T4 {
  const tf = L.tf;
  const [norm, q, k, v, out] = [L.norm(C), L.linear(C, C), L.linear(C, C), L.linear(C, C), L.linear(C, C)];
  const d = C / heads;
  return (x) => {
    const [N, H, W] = x.shape, T = H * W;
    const tokens = norm(x).reshape([N * T, C]) as T2;
    const split = (t: T2) => t.reshape([N, T, heads, d]).transpose([0, 2, 1, 3]);
    const probs = tf.softmax(tf.matMul(split(q(tokens)), split(k(tokens)), false, true).mul(1 / Math.sqrt(d)));
    const merged = tf.matMul(probs, split(v(tokens))).transpose([0, 2, 1, 3]).reshape([N * T, C]) as T2;
    return out(merged).reshape([N, H, W, C]).add(x) as T4;
  };
}

/** The U-Net of bindings/models/unet2d.ts (the 'default' time conditioning, no classes, no dropout). */
function buildUNet(L: Layers, c: BaseUNetConfig): (x: T4, tembInput: T2) => T4 {
  const tf = L.tf, channels = c.blockOutChannels, E = channels[0] * 4;
  const resnet = (inC: number, outC: number) => resnetBlock(L, E, inC, outC);
  const attention = (C: number) => attentionBlock(L, c.numHeads, C);
  const stage = (inC: number, outC: number, size: number) => {
    const r = resnet(inC, outC), a = c.attentionResolutions.includes(size) ? attention(outC) : null;
    return (x: T4, t: T2) => (a ? a(r(x, t)) : r(x, t));
  };
  const [l1, l2] = [L.linear(channels[0], E), L.linear(E, E)];
  const convIn = L.conv(c.inChannels, channels[0], 3);
  const down: ((x: T4, t: T2) => T4)[] = [], skipChannels = [channels[0]];
  let size = c.sampleSize, inC = channels[0];
  channels.forEach((outC, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      down.push(stage(j === 0 ? inC : outC, outC, size));
      skipChannels.push(outC);
    }
    if (i < channels.length - 1) {
      const conv = L.conv(outC, outC, 3, 2);
      down.push((x) => conv(x));
      skipChannels.push(outC);
      size /= 2;
    }
    inC = outC;
  });
  const last = channels[channels.length - 1];
  const mid = [resnet(last, last), c.midBlockAttention ? attention(last) : null, resnet(last, last)] as const;
  const up: ((x: T4, t: T2, skips: T4[]) => T4)[] = [];
  let prev = last;
  [...channels].reverse().forEach((outC, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) {
      const s = stage(prev + skipChannels.pop()!, outC, size);
      up.push((x, t, skips) => s(tf.concat([x, skips.pop()!], 3), t));
      prev = outC;
    }
    if (i < channels.length - 1) {
      const conv = L.conv(outC, outC, 3);
      up.push((x) => conv(upsample(tf, x)));
      size *= 2;
    }
  });
  const [normOut, convOut] = [L.norm(channels[0]), L.conv(channels[0], c.outChannels, 3)];
  return (x, tembInput) => {
    const t = L.silu(l2(L.silu(l1(tembInput))));
    let h = convIn(x);
    const skips = [h];
    for (const layer of down) skips.push((h = layer(h, t)));
    h = mid[2](mid[1] ? mid[1](mid[0](h, t)) : mid[0](h, t), t);
    for (const layer of up) h = layer(h, t, skips);
    return convOut(L.silu(normOut(h)));
  };
}

/** Nearest-neighbour 2x upsampling from stacks and reshapes (whose gradients TF.js-wasm has). */
function upsample(tf: TfModule, x: T4): T4 {
  const [N, H, W, C] = x.shape;
  const wide = tf.stack([x, x], 3).reshape([N, H, 2 * W, C]);
  return tf.stack([wide, wide], 2).reshape([N, 2 * H, 2 * W, C]) as T4;
}

/** The sinusoidal embedding of spread-out timesteps (the values do not change the work). */
function sinusoidal(batch: number, dim: number): Float32Array {
  const out = new Float32Array(batch * dim), half = dim / 2;
  for (let n = 0; n < batch; n++) {
    const t = (n * 997) % 1000;
    for (let i = 0; i < half; i++) {
      const angle = t * Math.exp((-Math.log(10000) * i) / half);
      out[n * dim + i] = Math.sin(angle);
      out[n * dim + half + i] = Math.cos(angle);
    }
  }
  return out;
}
