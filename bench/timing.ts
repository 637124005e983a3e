/**
 * The benchmark's stopwatch and its yardstick, in any runtime (Node, Deno, Bun, browsers): no Node module here.
 *
 * Timing: tinybench times every call on a given clock (the process's CPU clock in Node's report, where the machine
 * is shared; `performance.now()` elsewhere); cases are warmed up first (engines run wasm in a baseline compiler
 * until a function has run for a while), then measured in rounds, every case once per round, so that a burst of
 * load from other processes falls on all of them alike. A case's time is the median of all its calls over all
 * rounds, on that clock and on the wall clock.
 *
 * The peak: `simdPeakProbe` runs 12 independent f32x4 mul+add chains (96 flops per iteration), the issue's
 * measure of what a core does in WebAssembly SIMD128 without fused multiply-add, in whichever of its two forms
 * this engine runs faster (roughPeak). Each kernel gets its own probe, sized to last about as long as the kernel
 * and measured in the same rounds, so that the kernel and its yardstick run under the same conditions (clock
 * frequency, other processes' pressure on the shared caches).
 */
import { Bench } from 'tinybench';
import { wasm } from '../bindings/core/instance.ts';

/** A clock in milliseconds. */
export type Clock = () => number;

/** The wall clock. */
export const wallClock: Clock = () => performance.now();

/** Something to time: `fn` is called `iterations` times per round after `warmup` untimed calls. */
export interface Case {
  name: string;
  fn: () => unknown;
  /** Untimed calls before the first round. Default 20 (V8's tier-up). */
  warmup?: number;
  /** Timed calls per round. Default 5. */
  iterations?: number;
  /** Measured only in the first `rounds` rounds (for cases of seconds, such as the scalar twins). Default: all. */
  rounds?: number;
  /** Whether `fn` returns a promise to await. Default false. */
  async?: boolean;
}

/** Median times of each case, on the run's clock (`cpu`: CPU time in Node's report) and on the wall clock, ms per call. */
export class Timings {
  constructor(private readonly medians: Map<string, { cpu: number; wall: number }>) {}
  has(name: string): boolean { return this.medians.has(name); }
  /** Time on the run's clock: in Node's report the process's CPU time, what a call costs without the time other processes held the core. */
  cpu(name: string): number { return this.get(name).cpu; }
  /** Wall-clock time, for what CPU time cannot see (several threads at once). */
  wall(name: string): number { return this.get(name).wall; }
  private get(name: string) {
    const m = this.medians.get(name);
    if (!m) throw new Error(`bench: no timing for '${name}'`);
    return m;
  }
}

/** Runs the cases' warm-up calls, then `rounds` rounds, timed on `now`; returns each case's median times. */
export async function timeCases(cases: Case[], rounds: number, now: Clock): Promise<Timings> {
  for (const c of cases) for (let i = 0; i < (c.warmup ?? 20); i++) await c.fn();
  const samples = new Map(cases.map((c) => [c.name, { cpu: [] as number[], wall: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      if (round >= (c.rounds ?? rounds)) continue;
      const { cpu, wall } = await timeOnce(c, now);
      samples.get(c.name)!.cpu.push(...cpu);
      samples.get(c.name)!.wall.push(...wall);
    }
  }
  return new Timings(new Map([...samples].map(([name, t]) => [name, { cpu: median(t.cpu), wall: median(t.wall) }])));
}

/** One round of one case: tinybench times each call on `now`, and the call itself notes the wall clock. */
async function timeOnce(c: Case, now: Clock): Promise<{ cpu: number[]; wall: number[] }> {
  const wall: number[] = [];
  const timed = c.async
    ? async () => { const t0 = performance.now(); await c.fn(); wall.push(performance.now() - t0); }
    : () => { const t0 = performance.now(); c.fn(); wall.push(performance.now() - t0); };
  const bench = new Bench({ iterations: c.iterations ?? 5, time: 0, warmup: false, retainSamples: true, throws: true, now });
  // Saying whether fn is async spares tinybench an untimed call to find out.
  bench.add(c.name, timed, { async: c.async ?? false });
  const [task] = await bench.run();
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`bench: ${c.name} did not complete (${result.state})`);
  return { cpu: [...(result.latency.samples ?? [])], wall };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------------------
// The SIMD128 peak

/** Flops of one probe iteration: 12 chains × 4 lanes × (mul + add). */
export const PROBE_FLOPS_PER_ITERATION = 96;

/**
 * The probe's two forms (assembly/peak.ts): the multiplier and addend as v128 constants, or computed from the
 * seed. Engines compile them differently (V8 15 rematerialises the constants in the loop, V8 11 the computed
 * values), so roughPeak measures both and the faster one stands for the engine's peak from then on.
 */
export type ProbeForm = 'constant' | 'variable';
let probeForm: ProbeForm = 'constant';
let formRates: Record<ProbeForm, number> = { constant: 0, variable: 0 };

/** The form roughPeak found faster in this engine (the one runProbe runs), and both forms' rough GFLOP/s. */
export function probeForms(): { chosen: ProbeForm; gflops: Record<ProbeForm, number> } {
  return { chosen: probeForm, gflops: { constant: formRates.constant / 1e6, variable: formRates.variable / 1e6 } };
}

/** Runs the probe: `iterations` iterations of its 12 chains, in the chosen form (or `form`). */
export function runProbe(iterations: number, form: ProbeForm = probeForm): void {
  if (form === 'constant') wasm().simdPeakProbe(iterations, 1);
  else wasm().simdPeakProbeVariable(iterations, 1);
}

/**
 * A rough peak in flops per ms, used to size the per-kernel probes: the best of several stretches of each probe
 * form, alternated, each stretch long enough (`minMs`) for a coarse clock (browsers round `performance.now()` to
 * 0.005-1 ms). Chooses the faster form for every later probe.
 */
export function roughPeak(now: Clock, minMs = 2): number {
  const iterations = 200_000;
  const best: Record<ProbeForm, number> = { constant: 0, variable: 0 };
  for (let stretch = 0; stretch < 20; stretch++) {
    const form: ProbeForm = stretch % 2 === 0 ? 'constant' : 'variable';
    const t0 = now();
    let calls = 0, elapsed = 0;
    do {
      runProbe(iterations, form);
      calls++;
      elapsed = now() - t0;
    } while (elapsed < minMs);
    best[form] = Math.max(best[form], (calls * iterations * PROBE_FLOPS_PER_ITERATION) / elapsed);
  }
  probeForm = best.variable > best.constant ? 'variable' : 'constant';
  formRates = best;
  return best[probeForm];
}

/** Probe iterations that last about `ms` at `peakPerMs`. */
export function probeIterations(ms: number, peakPerMs: number): number {
  return Math.max(10_000, Math.round((ms * peakPerMs) / PROBE_FLOPS_PER_ITERATION));
}

/** A probe sized to last about `ms`, and how to read its flop rate from its median time. */
export function probeCase(name: string, ms: number, peakPerMs: number): { probe: Case; gflops: (t: number) => number } {
  const iterations = probeIterations(ms, peakPerMs);
  const probe: Case = { name, fn: () => runProbe(iterations), warmup: 3 };
  return { probe, gflops: (t) => (iterations * PROBE_FLOPS_PER_ITERATION) / t / 1e6 };
}

/** Times one call of `fn` on `now` (after `warmup` calls), as a first estimate to size probes and iteration counts. */
export async function estimateMs(fn: () => unknown, now: Clock, warmup = 20): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = now();
    await fn();
    times.push(now() - t0);
  }
  return median(times);
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic test data (no Math.random: the same numbers every run)

/** `n` floats in [-1, 1) from a fixed linear congruential sequence. */
export function pseudoRandom(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
