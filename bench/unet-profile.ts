/**
 * Where the U-Net's forward pass spends its time, op group by op group (bench/unet-forward.ts names them: 'conv
 * 3x3 @7x7', 'group norm', ...), for today's path and the inference ops, measured in interleaved rounds: each
 * round runs one forward of each path with every op timed on the process's CPU clock (a microsecond clock:
 * ops under ~20 µs, at batch 1, read coarsely). A group's time is the median over rounds of its sum in a forward.
 */
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import { type Tensor, tidy } from '../bindings/tensor.ts';
import { cpuNow, median } from './measure.ts';
import { fusedBlocks, type FusedWeights } from './unet-fused.ts';
import { runUNet, type Recorder, type UNetBlocks } from './unet-forward.ts';
import { todayBlocks } from './unet-today.ts';

export interface GroupTime { ms: number; flops: number }

export interface ForwardProfile {
  /** Median CPU ms of the whole forward (timed around it, so it includes what lies between the ops). */
  total: number;
  groups: Map<string, GroupTime>;
}

/** Profiles today's path and the inference ops on the same inputs, `rounds` rounds after `warmup` forwards. */
export function profileForward(
  model: UNet2DModel, weights: FusedWeights, x: Tensor, timesteps: Int32Array, labels: Int32Array | null,
  rounds: number, warmup = 3,
): { today: ForwardProfile; fused: ForwardProfile } {
  const paths = {
    today: (op: Recorder) => todayBlocks(model, op),
    fused: (op: Recorder) => fusedBlocks(model, weights, op),
  };
  const samples = { today: new Samples(), fused: new Samples() };
  for (let round = -warmup; round < rounds; round++) {
    for (const name of ['today', 'fused'] as const) {
      const sums = new Map<string, GroupTime>();
      const op: Recorder = (info, fn) => {
        const t0 = cpuNow();
        const result = fn();
        const entry = sums.get(info.group) ?? { ms: 0, flops: 0 };
        entry.ms += cpuNow() - t0;
        entry.flops += info.flops;
        sums.set(info.group, entry);
        return result;
      };
      const blocks: UNetBlocks = paths[name](op);
      const t0 = cpuNow();
      tidy(() => { runUNet(model, blocks, x, timesteps, labels); });
      if (round >= 0) samples[name].add(cpuNow() - t0, sums);
    }
  }
  return { today: samples.today.profile(), fused: samples.fused.profile() };
}

class Samples {
  private readonly totals: number[] = [];
  private readonly groups = new Map<string, { ms: number[]; flops: number }>();

  add(total: number, sums: Map<string, GroupTime>): void {
    this.totals.push(total);
    for (const [group, { ms, flops }] of sums) {
      const entry = this.groups.get(group) ?? { ms: [], flops };
      entry.ms.push(ms);
      this.groups.set(group, entry);
    }
  }

  profile(): ForwardProfile {
    const groups = new Map([...this.groups].map(([group, { ms, flops }]) => [group, { ms: median(ms), flops }] as const));
    return { total: median(this.totals), groups };
  }
}

/**
 * The two profiles as one Markdown table, today's biggest groups first: ms, share of the forward, flops and % of
 * `peakGflops` per path (groups of one path only show a dash in the other).
 */
export function profileTable(today: ForwardProfile, fused: ForwardProfile, peakGflops: number): string {
  const names = [...new Set([...today.groups.keys(), ...fused.groups.keys()])]
    .sort((a, b) => (today.groups.get(b)?.ms ?? fused.groups.get(b)!.ms) - (today.groups.get(a)?.ms ?? fused.groups.get(a)!.ms));
  const cells = (p: ForwardProfile, name: string): string[] => {
    const g = p.groups.get(name);
    if (!g) return ['-', '-', '-'];
    const rate = g.flops > 0 ? `${((100 * g.flops) / g.ms / 1e6 / peakGflops).toFixed(0)}%` : '-';
    return [g.ms.toFixed(g.ms < 1 ? 3 : 2), `${((100 * g.ms) / p.total).toFixed(1)}%`, rate];
  };
  const lines = [
    '| op group | MFLOP | today ms | today share | today % of peak | inference ops ms | share | % of peak |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of names) {
    const flops = (today.groups.get(name) ?? fused.groups.get(name))!.flops;
    lines.push(`| ${name} | ${flops > 0 ? (flops / 1e6).toFixed(1) : '-'} | ${cells(today, name).join(' | ')} | ${cells(fused, name).join(' | ')} |`);
  }
  const sum = (p: ForwardProfile) => [...p.groups.values()].reduce((s, g) => s + g.ms, 0);
  lines.push(`| **whole forward** (timed around it; the ops sum to ${sum(today).toFixed(1)} / ${sum(fused).toFixed(1)}) | ` +
    `${([...today.groups.values()].reduce((s, g) => s + g.flops, 0) / 1e6).toFixed(1)} | ${today.total.toFixed(2)} | 100% | ` +
    `${pctOfPeak(today, peakGflops)} | ${fused.total.toFixed(2)} | 100% | ${pctOfPeak(fused, peakGflops)} |`);
  return lines.join('\n');
}

function pctOfPeak(p: ForwardProfile, peakGflops: number): string {
  const flops = [...p.groups.values()].reduce((s, g) => s + g.flops, 0);
  return `${((100 * flops) / p.total / 1e6 / peakGflops).toFixed(0)}%`;
}
