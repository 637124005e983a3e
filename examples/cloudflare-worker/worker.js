/**
 * A Cloudflare Worker that draws digits with ddpm-wasm's shipped MNIST model (a class-conditional U-Net):
 *
 *   GET /?digit=7&seed=1&count=4&steps=20   ->   image/png: `count` samples of `digit` in a grid
 *
 * digit 0-9 (required); seed a non-negative integer (default 0); count 1-64 (default 1); steps of DDIM 1-100
 * (default 20). A bad query gets status 400 and a one-line reason. The same query gives the same pixels as the
 * library gives in Node, Deno, Bun or a browser.
 *
 * Workers compile no WebAssembly from bytes, so the core comes in as a module (ddpm-wasm/ddpm.wasm, declared
 * in config.capnp) and is passed to init(); the model file comes in as a data module (an ArrayBuffer).
 * The model is loaded once per isolate and kept for the requests that follow.
 */
import { DDIMPipeline, DDIMScheduler, init, loadModel, toRGBA } from 'ddpm-wasm/sampler';
import wasm from 'ddpm-wasm/ddpm.wasm';
import modelFile from 'ddpm-wasm/models/mnist.safetensors';
import { encode } from 'fast-png';

/** The query's parameters: [name, smallest, largest, default (undefined: required)]. */
const PARAMETERS = [
  ['digit', 0, 9, undefined],
  ['seed', 0, Number.MAX_SAFE_INTEGER, 0],
  ['count', 1, 64, 1],
  ['steps', 1, 100, 20],
];

/** How the grid is drawn: up to 8 digits a row, each twice its size, 2 white pixels between them. */
const LAYOUT = { columns: 8, scale: 2, gap: 2 };

let loaded = null;

export default {
  async fetch(request) {
    if (request.method !== 'GET') return new Response('only GET is served\n', { status: 405, headers: { allow: 'GET' } });
    let query;
    try {
      query = parseQuery(new URL(request.url).searchParams);
    } catch (error) {
      return new Response(`${error.message}\n`, { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    await init(wasm);
    loaded ??= loadModel(modelFile, 'mnist.safetensors');
    const { model, metadata } = loaded;
    const pipeline = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
    const images = await pipeline.generate({
      batchSize: query.count, numInferenceSteps: query.steps, seed: query.seed, classLabels: new Int32Array(query.count).fill(query.digit),
    });
    try {
      const { width, height, data } = toRGBA(images.toFloat32Array(), images.shape, LAYOUT);
      const png = encode({ width, height, data, channels: 4, depth: 8 });
      return new Response(png, { headers: { 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable' } });
    } finally {
      images.dispose();
    }
  },
};

/** The query as numbers, or an error naming the parameter, the value and what is allowed. */
function parseQuery(params) {
  const known = PARAMETERS.map(([name]) => name);
  for (const name of params.keys()) {
    if (!known.includes(name)) throw new Error(`unknown parameter '${name}' (known: ${known.join(', ')})`);
  }
  const query = {};
  for (const [name, min, max, fallback] of PARAMETERS) {
    const text = params.get(name);
    if (text === null && fallback === undefined) throw new Error(`${name} is required: an integer from ${min} to ${max}, as in /?digit=7`);
    const value = text === null ? fallback : /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) throw new Error(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
    query[name] = value;
  }
  return query;
}
