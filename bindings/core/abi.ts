/**
 * The WebAssembly core's exports, typed once. Each kernel family's exports are declared next to its ops
 * (bindings/ops/<family>.ts, as `<Family>Kernels`) and gathered here. Pointers are byte offsets into `memory`;
 * sizes are element counts.
 */
import type { AdamWKernels } from '../ops/adamw.ts';
import type { AttentionKernels } from '../ops/attention.ts';
import type { Conv2dKernels } from '../ops/conv2d.ts';
import type { DropoutKernels } from '../ops/dropout.ts';
import type { ElementwiseKernels } from '../ops/elementwise.ts';
import type { GroupNormKernels } from '../ops/groupnorm.ts';
import type { LayoutKernels } from '../ops/layout.ts';
import type { LikelihoodKernels } from '../ops/likelihood.ts';
import type { LinearKernels } from '../ops/linear.ts';
import type { MatmulKernels } from '../ops/matmul.ts';
import type { PerItemKernels } from '../ops/per-item.ts';
import type { RandomKernels } from '../ops/random.ts';
import type { SchedulerKernels } from '../ops/scheduler.ts';

/** memory.ts, math.ts and peak.ts. */
export interface BaseKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  // float64 scalar math that is identical in every engine (JavaScript's Math is not)
  mathExp(x: number): number;
  mathLog(x: number): number;
  mathCos(x: number): number;
  mathSin(x: number): number;
  mathTanh(x: number): number;
  mathPow(x: number, y: number): number;
  /** 12 independent f32x4 mul+add chains, `iterations` times: 96 flops per iteration. */
  simdPeakProbe(iterations: number, seed: number): number;
}

export interface CoreExports extends BaseKernels, MatmulKernels, LinearKernels, Conv2dKernels, GroupNormKernels,
  AttentionKernels, ElementwiseKernels, RandomKernels, AdamWKernels, SchedulerKernels, LayoutKernels, DropoutKernels,
  LikelihoodKernels, PerItemKernels {}
