/**
 * Runs the scenarios in whatever runtime loaded this module (Node, Deno, Bun, a browser, workerd) and packs every
 * output as { name, dtype, shape, sha256, base64 }: the bytes are what the self-test compares with the golden
 * ones (and shows the first differing element from), the hash what the cross-runtime harness groups runtimes by.
 * Plain JavaScript, web APIs only (btoa, performance, and crypto.subtle where there is one: a page served over
 * plain http from another host than localhost has none, and gets sha256 null), so one file serves every runtime.
 */

const DTYPES = [
  ['f32', Float32Array], ['f64', Float64Array], ['i32', Int32Array], ['u32', Uint32Array], ['u8', Uint8Array],
];

/**
 * Runs each scenario whose name contains `filter` and returns
 * { results: [{ name, outputs?, pending?, error?, ms }], ms }, in scenario order; `onResult(result)` is called
 * after each one (progress).
 * (Types: collect.d.ts.)
 */
export async function collect(lib, scenarios, { filter = '', onResult = () => {} } = {}) {
  const start = performance.now();
  await lib.init();
  const results = [];
  for (const scenario of scenarios) {
    if (!scenario.name.includes(filter)) continue;
    const missing = (scenario.needs ?? []).filter((name) => typeof (lib.ops[name] ?? lib[name]) !== 'function');
    const result = missing.length > 0 ? { name: scenario.name, pending: missing } : await runAndEncode(lib, scenario);
    results.push(result);
    onResult(result);
  }
  return { results, ms: performance.now() - start };
}

async function runAndEncode(lib, scenario) {
  const t0 = performance.now();
  try {
    const outputs = await runScenario(lib, scenario);
    return { name: scenario.name, outputs: await Promise.all(outputs.map(encode)), ms: performance.now() - t0 };
  } catch (error) {
    return { name: scenario.name, error: describeError(error), ms: performance.now() - t0 };
  }
}

/** Runs one scenario and returns its outputs as [{ name, array, shape }], copied out of wasm memory. */
async function runScenario(lib, scenario) {
  if (Object.prototype.toString.call(scenario.run) === '[object AsyncFunction]') {
    const returned = [];
    const outputs = flatten(lib, await scenario.run(lib), '', returned);
    for (const tensor of returned) tensor.dispose();  // copied: the harness frees the tensors it was handed
    return outputs;
  }
  // Copy outputs out inside `tidy`, so every tensor the scenario made is freed when it returns.
  return lib.tidy(() => flatten(lib, scenario.run(lib), ''));
}

function flatten(lib, value, prefix, tensors = []) {
  const name = prefix || 'out';
  if (value instanceof lib.Tensor) {
    tensors.push(value);
    return [{ name, array: value.toFloat32Array(), shape: [...value.shape] }];
  }
  if (ArrayBuffer.isView(value)) return [{ name, array: value.slice(), shape: [value.length] }];
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)  // skipped gradients
      .flatMap(([key, v]) => flatten(lib, v, prefix ? `${prefix}.${key}` : key, tensors));
  }
  if (typeof value?.then === 'function') throw new Error('run() returned a promise: declare it `async` (then it frees its own tensors)');
  throw new Error(`output '${name}' must be a Tensor, a typed array or an object of them, got ${typeof value}`);
}

async function encode({ name, array, shape }) {
  const dtype = DTYPES.find(([, type]) => array instanceof type)?.[0];
  if (dtype === undefined) throw new Error(`output '${name}': unsupported array type ${array.constructor.name}`);
  if (dtype === 'f32' || dtype === 'f64') {
    // NaN payloads differ between engines (and JS may canonicalise them), so NaN must never be hashed.
    const at = array.findIndex((x) => x !== x);
    if (at >= 0) throw new Error(`output '${name}' has NaN at [${at}] (NaN bits are not portable)`);
  }
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  return { name, dtype, shape, sha256: globalThis.crypto?.subtle ? await sha256(bytes) : null, base64: toBase64(bytes) };
}

/** The SHA-256 of `bytes` as 64 hex digits (crypto.subtle: a secure context). */
export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Error text that reads the same in every engine's format (Firefox's stack omits the message). */
export function describeError(error) {
  if (!(error instanceof Error)) return String(error);
  const stack = String(error.stack ?? '').split('\n').filter((line) => line && !line.includes(error.message));
  return [`${error.name}: ${error.message}`, ...stack.slice(0, 4).map((line) => `    ${line.trim()}`)].join('\n');
}
