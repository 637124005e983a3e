/**
 * The two halves of a worker's channel (training, sampling, the likelihood bound) on whatever the runtime has:
 * Node's worker_threads, or the web's Worker (browsers, Deno, Bun). Node's module comes from
 * process.getBuiltinModule at run time, not from an import, so the main entry bundles for the browser with no flag
 * and no stub (esbuild, Rollup, Vite, webpack), and nothing Node-only loads unless workers actually start in Node.
 */

/** One end of a message channel: post, receive in order, close. */
export interface WorkerChannel<Out, In> {
  post(message: Out, transfer?: ArrayBuffer[]): void;
  next(): Promise<In>;
  terminate(): void;
}

type WorkerThreads = typeof import('node:worker_threads');
type NodeProcess = { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };

const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

/** Node (not Deno, which has web workers and also sets process.versions.node). */
export function isNode(): boolean {
  return typeof nodeProcess()?.versions?.node === 'string' && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';
}

function workerThreads(): WorkerThreads {
  const node = nodeProcess()!;
  if (typeof node.getBuiltinModule !== 'function') {
    throw new Error(`worker threads need Node 20.16 or later (process.getBuiltinModule); this is Node ${node.versions?.node}`);
  }
  return node.getBuiltinModule('node:worker_threads') as WorkerThreads;
}

/**
 * Starts a worker running the module at `entry` (`fromSource`: a .ts file, which a Node worker imports through
 * tsx's loader, as tests and development run) and returns the parent's end of its channel. A worker that fails
 * delivers `onError(message)` as its next message.
 */
export async function spawnWorker<Out, In>(entry: URL, fromSource: boolean, onError: (message: string) => In): Promise<WorkerChannel<Out, In>> {
  const inbox: In[] = [];
  const waiting: ((message: In) => void)[] = [];
  const deliver = (message: In) => { const w = waiting.shift(); if (w) w(message); else inbox.push(message); };
  const next = () => new Promise<In>((resolve) => { const m = inbox.shift(); if (m !== undefined) resolve(m); else waiting.push(resolve); });
  if (isNode()) {
    const { Worker } = workerThreads();
    const worker = fromSource
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true })
      : new Worker(entry);
    let terminated = false;
    worker.on('message', deliver);
    worker.on('error', (error) => deliver(onError(error.message)));
    // A worker that stops on its own (process.exit, or killed) would leave the parent waiting for ever.
    worker.on('exit', (code) => { if (!terminated) deliver(onError(`the worker stopped (exit code ${code})`)); });
    return {
      post: (m, transfer) => worker.postMessage(m, transfer ?? []), next,
      terminate: () => { terminated = true; void worker.terminate(); },
    };
  }
  const worker = new Worker(entry, { type: 'module' });
  worker.onmessage = (event: MessageEvent<In>) => deliver(event.data);
  worker.onerror = (event: ErrorEvent) => deliver(onError(event.message));
  return { post: (m, transfer) => worker.postMessage(m, transfer ?? []), next, terminate: () => worker.terminate() };
}

/**
 * The worker's side: answers every message from the parent with `handle`'s reply and its transferables; an error
 * `handle` throws is answered as `{ type: 'error', message }`, which the parent's `expectReply` throws again.
 */
export function serveParent<In, Out>(handle: (message: In) => Promise<Out>, transferables: (reply: Out) => ArrayBuffer[]): void {
  const answer = (message: In): Promise<Out> => handle(message).catch((error: Error) => ({ type: 'error', message: error.message }) as Out);
  if (isNode()) {
    const { parentPort } = workerThreads();
    parentPort!.on('message', async (message: In) => {
      const reply = await answer(message);
      parentPort!.postMessage(reply, transferables(reply));
    });
    return;
  }
  const scope = globalThis as unknown as { onmessage: (event: MessageEvent<In>) => void; postMessage(m: unknown, t: ArrayBuffer[]): void };
  scope.onmessage = async (event) => {
    const reply = await answer(event.data);
    scope.postMessage(reply, transferables(reply));
  };
}

/** What every pool's workers answer: a reply of some type, or `{ type: 'error', message }`. */
export type WorkerReplyBase = { type: string; message?: string };

/**
 * The channel's next reply, which must be of `type`: a worker's error, or a reply of another type, is thrown as an
 * error naming the pool (`what`, e.g. 'sampling worker').
 */
export async function expectReply<Out, In extends WorkerReplyBase>(channel: WorkerChannel<Out, In>, type: In['type'], what: string): Promise<In> {
  const reply = await channel.next();
  if (reply.type === 'error') throw new Error(`${what} failed: ${reply.message}`);
  if (reply.type !== type) throw new Error(`${what}: expected '${type}', got '${reply.type}'`);
  return reply;
}

/**
 * Starts `count` workers running the worker-entry module beside `moduleUrl` (the .ts source under tsx when
 * `moduleUrl` is one, the .js build otherwise), sends each `init` and waits for every 'ready'; when one fails, all
 * are stopped and the error is thrown. The pools of training, sampling and the likelihood bound start this way.
 */
export async function startWorkers<Out, In extends WorkerReplyBase>(moduleUrl: string, count: number, init: Out, what: string): Promise<WorkerChannel<Out, In>[]> {
  const fromSource = moduleUrl.endsWith('.ts');
  const entry = new URL(fromSource ? './worker-entry.ts' : './worker-entry.js', moduleUrl);
  const channels = await Promise.all(Array.from({ length: count }, () =>
    spawnWorker<Out, In>(entry, fromSource, (message) => ({ type: 'error', message }) as In)));
  try {
    for (const channel of channels) channel.post(init);
    await Promise.all(channels.map((channel) => expectReply(channel, 'ready', what)));
  } catch (error) {
    for (const channel of channels) channel.terminate();
    throw error;
  }
  return channels;
}
