/**
 * The benchmark-and-verify page's worker: loads the built library, runs its self-test (`selfTest`) and the engine
 * benchmark (dist/bench/engine.js) on request, and posts their progress and reports to the page. Requests run one
 * after the other, in the order they came.
 *
 * Messages in:   { type: 'verify' }   { type: 'bench', quick }
 * Messages out:  { type: 'scenario', result, done, total }    { type: 'verified', report }
 *                { type: 'kernel', id, op, done, total }      { type: 'benched', report, text }
 *                { type: 'error', stage, message }           (stage: 'library', 'verify' or 'bench')
 */
let queue = Promise.resolve();
let loaded = null;

self.onmessage = ({ data: message }) => {
  queue = queue.then(() => handle(message)).catch((error) => {
    self.postMessage({ type: 'error', stage: error.stage ?? message.type, message: error.message });
  });
};

async function library() {
  loaded ??= (async () => {
    try {
      const [lib, engine] = await Promise.all([import('../dist/bindings/index.js'), import('../dist/bench/engine.js')]);
      await lib.init();
      return { ...lib, ...engine };
    } catch (error) {
      throw Object.assign(new Error(`could not load the library (${error.message}): run \`npm run build\` and reload`), { stage: 'library' });
    }
  })();
  return loaded;
}

async function handle(message) {
  const lib = await library();
  if (message.type === 'verify') {
    const report = await lib.selfTest({
      onScenario: (result, done, total) => self.postMessage({ type: 'scenario', result: { ...result, outputs: undefined }, done, total }),
    });
    self.postMessage({ type: 'verified', report });
  } else if (message.type === 'bench') {
    const report = await lib.benchEngine({
      quick: message.quick,
      onProgress: (kernel, done, total) => self.postMessage({ type: 'kernel', id: kernel.id, op: kernel.op, done, total }),
    });
    self.postMessage({ type: 'benched', report, text: lib.formatEngineReport(report) });
  }
}
