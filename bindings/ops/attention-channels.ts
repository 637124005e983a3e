/**
 * Self-attention on a feature map, for inference (assembly/attention-channels.ts): q, k and v
 * arrive as the 3·C channels of one 1x1 convolution's output [N, 3C, H, W] (C = heads · D channels each, head h
 * owning channels h·D .. h·D + D - 1), and the result comes out as a feature map [N, C, H, W] for the output
 * projection: no transposes between tokens and channels. Same bits as `attentionForward` on the transposed
 * tensors.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, intArg, tensorArg } from './check.ts';

/**
 * o = softmax(q·kᵀ / sqrt(D))·v per sample and head, q, k, v taken from qkv's channels.
 * @param qkv [N, 3C, ...spatial]: q in channels [0, C), k in [C, 2C), v in [2C, 3C); T = the spatial size >= 1.
 * @param heads divides C; D = C / heads.
 * @returns o [N, C, ...spatial].
 */
export function attentionChannels(qkv: Tensor, heads: number): Tensor {
  const op = 'attentionChannels';
  const shape = tensorArg(op, 'qkv', qkv);
  if (shape.length < 3) throw new Error(`${op}: qkv must be [N, 3C, ...spatial] (rank >= 3), got ${fmt(shape)}`);
  intArg(op, 'heads', heads, 1);
  const [N, C3] = shape, T = shape.slice(2).reduce((a, b) => a * b, 1);
  if (C3 % (3 * heads) !== 0 || C3 === 0) {
    throw new Error(`${op}: qkv's channels (${C3}) must be 3 · heads (${heads}) · D for a head size D >= 1 (qkv ${fmt(shape)})`);
  }
  if (T < 1) throw new Error(`${op}: qkv ${fmt(shape)} has no positions`);
  const C = C3 / 3;
  const o = new Tensor([N, C, ...shape.slice(2)]);
  const work = new Tensor([wasm().attentionChannelsWorkspaceSize(T)]);
  try {
    wasm().attentionChannelsForward(o.ptr, qkv.ptr, work.ptr, N, heads, T, C / heads);
  } finally {
    work.dispose();
  }
  return o;
}
