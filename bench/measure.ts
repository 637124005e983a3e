/**
 * The benchmark's stopwatch, its yardstick (the SIMD128 peak), the machine's description and its test data.
 *
 * Timing: tinybench times every call; cases are warmed up first (V8 runs wasm in its baseline compiler until a
 * function has run for a while), then measured in rounds, every case once per round, so that a burst of load
 * from other processes on this shared machine falls on all of them alike. A case's time is the median of all
 * its calls over all rounds, on the process's CPU clock (and on the wall clock, for multi-threaded cases).
 *
 * The peak: `simdPeakProbe` runs 12 independent f32x4 mul+add chains (96 flops per iteration), the issue's
 * measure of what a core does in WebAssembly SIMD128 without fused multiply-add. Each kernel gets its own probe, sized to last
 * about as long as the kernel and measured in the same rounds, so that the kernel and its yardstick run under
 * the same conditions (clock frequency, other processes' pressure on the shared caches).
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { wasm } from '../bindings/core/instance.ts';

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

/** Median times of each case, in the benchmark process's CPU time and in wall-clock time, ms per call. */
export class Timings {
  constructor(private readonly medians: Map<string, { cpu: number; wall: number }>) {}
  has(name: string): boolean { return this.medians.has(name); }
  /** CPU time of this process: what a call costs, without the time other processes held the core. */
  cpu(name: string): number { return this.get(name).cpu; }
  /** Wall-clock time, for what CPU time cannot see (several threads at once). */
  wall(name: string): number { return this.get(name).wall; }
  private get(name: string) {
    const m = this.medians.get(name);
    if (!m) throw new Error(`bench: no timing for '${name}'`);
    return m;
  }
}

/** Runs the cases' warm-up calls, then `rounds` rounds; returns each case's median times. */
export async function timeCases(cases: Case[], rounds: number): Promise<Timings> {
  for (const c of cases) for (let i = 0; i < (c.warmup ?? 20); i++) await c.fn();
  const samples = new Map(cases.map((c) => [c.name, { cpu: [] as number[], wall: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      if (round >= (c.rounds ?? rounds)) continue;
      const { cpu, wall } = await timeOnce(c);
      samples.get(c.name)!.cpu.push(...cpu);
      samples.get(c.name)!.wall.push(...wall);
    }
  }
  return new Timings(new Map([...samples].map(([name, t]) => [name, { cpu: median(t.cpu), wall: median(t.wall) }])));
}

/**
 * One round of one case: tinybench times each call on the process's CPU clock, and the call itself notes the
 * wall clock. On this shared machine CPU time is the steadier measure (wall time also counts the slices other
 * processes ran in); it includes V8's helper threads, which are idle once the code is warm.
 */
async function timeOnce(c: Case): Promise<{ cpu: number[]; wall: number[] }> {
  const wall: number[] = [];
  const timed = c.async
    ? async () => { const t0 = performance.now(); await c.fn(); wall.push(performance.now() - t0); }
    : () => { const t0 = performance.now(); c.fn(); wall.push(performance.now() - t0); };
  const bench = new Bench({ iterations: c.iterations ?? 5, time: 0, warmup: false, retainSamples: true, throws: true, now: cpuNow });
  // Saying whether fn is async spares tinybench an untimed call to find out.
  bench.add(c.name, timed, { async: c.async ?? false });
  const [task] = await bench.run();
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`bench: ${c.name} did not complete (${result.state})`);
  return { cpu: [...(result.latency.samples ?? [])], wall };
}

/** CPU time (user + system) of this process in ms. */
export function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------------------
// The SIMD128 peak

/** Flops of one probe iteration: 12 chains × 4 lanes × (mul + add). */
const PROBE_FLOPS_PER_ITERATION = 96;

/** A rough peak in flops per ms from a few short probes, used only to size the per-kernel probes. */
export function roughPeak(): number {
  const iterations = 200_000;
  let best = Infinity;
  for (let i = 0; i < 30; i++) {
    const t0 = cpuNow();
    wasm().simdPeakProbe(iterations, 1);
    best = Math.min(best, cpuNow() - t0);
  }
  return (iterations * PROBE_FLOPS_PER_ITERATION) / best;
}

/** A probe sized to last about `ms`, and how to read its flop rate from its median time. */
export function probeCase(name: string, ms: number, peakPerMs: number): { probe: Case; gflops: (t: number) => number } {
  const iterations = Math.max(10_000, Math.round((ms * peakPerMs) / PROBE_FLOPS_PER_ITERATION));
  const probe: Case = { name, fn: () => wasm().simdPeakProbe(iterations, 1), warmup: 3 };
  return { probe, gflops: (t) => (iterations * PROBE_FLOPS_PER_ITERATION) / t / 1e6 };
}

/** Times one call of `fn` (after `warmup` calls), as a first estimate to size probes and iteration counts. */
export async function estimateMs(fn: () => unknown, warmup = 20): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = cpuNow();
    await fn();
    times.push(cpuNow() - t0);
  }
  return median(times);
}

// ---------------------------------------------------------------------------------------------------------
// The machine

/** CPU model, cores, Node and V8 versions, and the load when the run started. */
export function machineInfo(): string {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch {
    // not Linux: os.cpus() is the next best source
  }
  const flags = cpuFlags();
  const load = loadavg().map((l) => l.toFixed(1)).join(', ');
  return `${model}${flags}, ${cpus().length} cores; Node ${process.versions.node} (V8 ${process.versions.v8}); ` +
    `load average at start ${load}`;
}

function cpuFlags(): string {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '';
    const has = (f: string) => flags.split(/\s+/).includes(f);
    return has('avx512f') ? ' (AVX-512)' : has('avx2') ? ' (AVX2)' : '';
  } catch {
    return '';
  }
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

// ---------------------------------------------------------------------------------------------------------
// How much of a second core the machine gives this process

/**
 * A control for multi-threaded rows: the CPU this process gets with two busy threads over what it gets with
 * one (each spinning `ms` of wall-clock time). 2 on an idle two-core machine; near 1 when other processes (or
 * Linux's per-session fair share, sched_autogroup) leave this process one core's worth, whatever its threads.
 */
export async function parallelCapacity(ms = 1500): Promise<number> {
  const share = async (threads: number) => {
    const c0 = cpuNow(), w0 = performance.now();
    await Promise.all(Array.from({ length: threads }, () => spinThread(ms)));
    return (cpuNow() - c0) / (performance.now() - w0);
  };
  const one = await share(1);
  return (await share(2)) / one;
}

function spinThread(ms: number): Promise<void> {
  const code = `const end = Date.now() + ${ms}; let x = 0;
    while (Date.now() < end) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
    require('node:worker_threads').parentPort.postMessage(x);`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', () => {
      void worker.terminate();
      resolve();
    });
    worker.once('error', reject);
  });
}
