/**
 * The script a training worker runs (see train/workers.ts): it loads its own WebAssembly core, builds the model
 * from the kind and config it is sent, then answers 'gradients' requests with each shard's gradient.
 * The same file serves Node's worker_threads and Web Workers (browsers, Deno, Bun).
 */
import { init } from '../core/instance.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { createModel, modelFromMessage } from '../models/registry.ts';
import { DDPMScheduler } from '../schedulers/ddpm.ts';
import { DistillationTeacher } from './distillation-teacher.ts';
import { DiffusionObjective } from './objective.ts';
import { serveParent } from '../core/platform-worker.ts';
import { computeShardGradients, type TeacherMessage, type WorkerReply, type WorkerRequest } from './workers.ts';

let model: Denoiser | null = null;
let teacher: DistillationTeacher | null = null;
let objective: DiffusionObjective | null = null;

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  if (request.type === 'init') {
    await init();
    model = createModel(request.kind, request.config);
    teacher = request.teacher && rebuildTeacher(request.teacher);
    objective = request.objective && new DiffusionObjective(request.objective);
    return { type: 'ready' };
  }
  if (!model) throw new Error('gradients requested before init');
  return computeShardGradients(model, teacher, objective, request);
}

/** The distillation teacher the trainer described: its model with its weights, its schedule, its recipe. */
function rebuildTeacher(message: TeacherMessage): DistillationTeacher {
  return new DistillationTeacher(modelFromMessage(message), DDPMScheduler.fromConfig(message.scheduler), message.recipe);
}

const transferables = (reply: WorkerReply) => (reply.type === 'gradients' ? reply.grads.map((g) => g.buffer as ArrayBuffer) : []);

serveParent(handle, transferables);
