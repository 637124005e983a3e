/**
 * The script a likelihood worker runs (likelihood/bound-workers.ts): it loads its own WebAssembly core, rebuilds
 * the model and the scheduler it is sent, then answers 'bound' requests with the terms of its run of the batch.
 * The same file serves Node's worker_threads and Web Workers.
 */
import { init } from '../core/instance.ts';
import { serveParent } from '../core/platform-worker.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { modelFromMessage } from '../models/registry.ts';
import { DDPMScheduler } from '../schedulers/ddpm.ts';
import { Tensor } from '../tensor.ts';
import { variationalBound } from './bound.ts';
import type { BoundReply, BoundRequest } from './bound-workers.ts';

let model: Denoiser | null = null;
let scheduler: DDPMScheduler | null = null;

async function handle(request: BoundRequest): Promise<BoundReply> {
  if (request.type === 'init') {
    await init();
    model = modelFromMessage(request.model) as Denoiser;
    scheduler = DDPMScheduler.fromConfig(request.scheduler);
    return { type: 'ready' };
  }
  if (!model || !scheduler) throw new Error('bound requested before init');
  const x0 = Tensor.from(request.x0.values, request.x0.shape);
  try {
    return { type: 'terms', terms: variationalBound(model, scheduler, x0, request.options) };
  } finally {
    x0.dispose();
  }
}

/** Every array of the terms, each buffer once (the decoder term is perTimestep[0]: a buffer listed twice cannot be transferred). */
function transferables(reply: BoundReply): ArrayBuffer[] {
  if (reply.type !== 'terms') return [];
  const { total, prior, diffusion, decoder, perTimestep } = reply.terms;
  return [...new Set([total, prior, diffusion, decoder, ...perTimestep].map((a) => a.buffer as ArrayBuffer))];
}

serveParent<BoundRequest, BoundReply>(handle, transferables);
