/**
 * The page's sampler, in a module worker so the page stays responsive: loads the built library and one model
 * file, runs DDIM sampling, or an edit of the visitor's drawing (edit.js), on request and posts every step's
 * images (the sample x_t and the model's predicted x0, as RGBA grids) back to the page. One worker serves one
 * model; the page ends it (terminate) to stop a run or to switch models.
 *
 * Messages in:   { type: 'load', url }
 *                { type: 'sample', id, batchSize, steps, seed, classLabel, guidance }
 *                { type: 'edit', id, mode ('complete' | 'clean'), ink (28x28 Float32Array), strength, batchSize, seed, classLabel, guidance }
 * Messages out:  { type: 'ready', model }                 (the model's description, see `describeModel`)
 *                { type: 'step', id, index, total, timestep, sample, x0, ms }   (images: { width, height, data })
 *                { type: 'done', id, total, ms }
 *                { type: 'error', id?, stage, message }   (stage: 'library', 'model' or 'sample')
 */
import { disposeEdit, editRun } from './edit.js';
import { gridOptions } from './layout.js';

let lib = null;
let loaded = null;

self.onmessage = ({ data: message }) => {
  const run = message.type === 'load' ? load(message) : message.type === 'sample' ? sample(message) : message.type === 'edit' ? edit(message) : null;
  run?.catch((error) => self.postMessage({ type: 'error', id: message.id, stage: error.stage ?? 'sample', message: error.message }));
};

async function library() {
  if (lib) return lib;
  try {
    const [core, pixels] = await Promise.all([import('../dist/bindings/index.js'), import('../dist/bindings/io/pixels.js')]);
    await core.init();
    lib = { ...core, toRGBA: pixels.toRGBA };
    return lib;
  } catch (error) {
    throw staged('library', `could not load the library from dist/ (${error.message}): run \`npm run build\` and reload`);
  }
}

async function load({ url }) {
  const { decodeModel } = await library();
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw staged('model', `could not fetch ${url}: ${error.message}`);
  }
  if (response.status === 404) throw staged('model', missingModel(url));
  if (!response.ok) throw staged('model', `could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let decoded;
  try {
    decoded = decodeModel(bytes, url);
  } catch (error) {
    throw staged('model', error.message);
  }
  if (decoded.metadata.kind === 'classifier') throw staged('model', `${url} is a noise-aware classifier, not a diffusion model`);
  if (decoded.metadata.data.sampleShape.length !== 3) throw staged('model', `${url} was trained on 2-D points, not images: this page draws images`);
  loaded = { url, ...decoded };
  self.postMessage({ type: 'ready', model: describeModel(loaded, bytes.length) });
}

/** What the page shows and needs about a model. */
function describeModel({ url, model, metadata }, bytes) {
  return {
    url, bytes, kind: metadata.kind, parameters: model.params.size, numClasses: model.numClasses,
    data: metadata.data, trainingSteps: metadata.training?.steps ?? 0, predictionType: metadata.scheduler.predictionType ?? 'epsilon',
    numTrainTimesteps: metadata.scheduler.numTrainTimesteps ?? 1000,
  };
}

async function sample({ id, batchSize, steps, seed, classLabel, guidance, convolutions }) {
  if (!loaded) throw staged('sample', 'no model is loaded yet');
  const { DDIMPipeline, DDIMScheduler } = await library();
  const { model, metadata } = loaded;
  const pipeline = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const options = { batchSize, numInferenceSteps: steps, seed, ...(convolutions && { convolutions }) };
  if (model.numClasses > 0) {
    options.classLabels = new Int32Array(batchSize).fill(classLabel);
    if (guidance !== 1) options.guidanceScale = guidance;
  }
  await stream(id, pipeline, options);
}

/** An edit of the drawing (edit.js): img2img or inpainting with few steps, streamed as sampling is. */
async function edit({ id, ...request }) {
  if (!loaded) throw staged('sample', 'no model is loaded yet');
  const { pipeline, options } = editRun(await library(), loaded, request);
  try {
    await stream(id, pipeline, options);
  } finally {
    disposeEdit(options);
  }
}

/** Runs `pipeline.generate(options)`, posting every step's images and then 'done' with the number of steps. */
async function stream(id, pipeline, options) {
  const { toRGBA } = await library();
  const { metadata } = loaded;
  const shape = [options.batchSize, ...metadata.data.sampleShape];
  const layout = gridOptions(options.batchSize, metadata.data);
  const started = performance.now();
  let steps = 0;
  options.onStep = ({ index, total, timestep, sample: x, predOriginalSample }) => {
    const frame = toRGBA(x.toFloat32Array(), shape, layout);
    const x0 = toRGBA(predOriginalSample.toFloat32Array(), shape, layout);
    const ms = performance.now() - started;
    steps = total;
    self.postMessage({ type: 'step', id, index, total, timestep, sample: frame, x0, ms }, [frame.data.buffer, x0.data.buffer]);
  };
  const out = await pipeline.generate(options);
  out.dispose();
  self.postMessage({ type: 'done', id, total: steps, ms: performance.now() - started, convolutions: options.convolutions });
}

/** The message for a model file the server does not have: the shipped ones may not be trained yet. */
function missingModel(url) {
  const path = new URL(url, self.location.href).pathname.replace(/^\//, '');
  const shipped = /^models\/(mnist|colored-mnist)\.safetensors$/.exec(path);
  if (!shipped) return `${path} was not found on the server (the path is relative to the repository's root)`;
  const name = shipped[1];
  return `${path} is not there yet: train one with \`ddpm train --data ${name} --class-cond --out runs/${name}\`, ` +
    `then open this page with ?model=runs/${name}/model.safetensors`;
}

function staged(stage, message) {
  return Object.assign(new Error(message), { stage });
}
