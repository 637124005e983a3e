/**
 * The script a sampling worker runs (pipelines/sampling-workers.ts): it loads its own WebAssembly core, rebuilds
 * the model, the scheduler and the classifier it is sent, then answers 'generate' requests with the samples of
 * its run of the batch. The same file serves Node's worker_threads and Web Workers.
 */
import { init } from '../core/instance.ts';
import { serveParent } from '../core/platform-worker.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { modelFromMessage } from '../models/registry.ts';
import { SCHEDULER_CLASSES } from '../schedulers/index.ts';
import { DiffusionPipeline, type PipelineScheduler } from './pipeline.ts';
import { generateOn, type SamplingReply, type SamplingRequest } from './sampling-workers.ts';

let pipeline: DiffusionPipeline | null = null;
let classifier: NoiseAwareClassifier | null = null;

async function handle(request: SamplingRequest): Promise<SamplingReply> {
  if (request.type === 'init') {
    await init();
    const schedulerClass = SCHEDULER_CLASSES[request.scheduler.name] as unknown as { fromConfig(config: object): PipelineScheduler };
    const scheduler = schedulerClass.fromConfig(request.scheduler.config);
    pipeline = new DiffusionPipeline({ model: modelFromMessage(request.model) as Denoiser, scheduler });
    classifier = request.classifier && (modelFromMessage(request.classifier) as NoiseAwareClassifier);
    return { type: 'ready' };
  }
  if (!pipeline) throw new Error('generate requested before init');
  const out = await generateOn(pipeline, request.options, classifier ?? undefined);
  const values = out.toFloat32Array();
  out.dispose();
  return { type: 'samples', values };
}

serveParent<SamplingRequest, SamplingReply>(handle, (reply) => (reply.type === 'samples' ? [reply.values.buffer as ArrayBuffer] : []));
