/**
 * What Node's report (bench/main.ts) adds to the portable stopwatch (timing.ts): the process's CPU clock, which
 * it times everything on (on a shared machine wall-clock time also counts the slices other processes ran in),
 * the machine's description, and a control of how much of a second core the machine gives.
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as timing from './timing.ts';

export { median, probeCase, pseudoRandom, Timings, type Case } from './timing.ts';

/** CPU time (user + system) of this process in ms. */
export function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** timing.ts's timeCases on the CPU clock. */
export function timeCases(cases: timing.Case[], rounds: number): Promise<timing.Timings> {
  return timing.timeCases(cases, rounds, cpuNow);
}

/** timing.ts's rough peak on the CPU clock. */
export function roughPeak(): number {
  return timing.roughPeak(cpuNow);
}

/** timing.ts's first estimate on the CPU clock. */
export function estimateMs(fn: () => unknown, warmup = 20): Promise<number> {
  return timing.estimateMs(fn, cpuNow, warmup);
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
