/**
 * TensorFlow.js 4.22 with its wasm backend (XNNPACK, SIMD128; one thread under Node), the JavaScript
 * alternative every kernel row is compared with. Loaded lazily so that the rest of the benchmark runs without it.
 *
 * Its traps (see the project's performance notes): `@tensorflow/tfjs-core` alone registers no gradients in
 * Node, so the union package is imported; the backend must be set with `await tf.setBackend('wasm')`; every
 * tensor must be disposed; and a typed array must never be returned from `tf.tidy` (it walks it as a container).
 * The wasm backend runs each op synchronously, so an op's call is its whole cost: nothing is read back.
 */
export type TfModule = typeof import('@tensorflow/tfjs');

/** TF.js on its wasm backend, or null (with the reason) when it cannot be loaded. */
export async function loadTfWasm(): Promise<{ tf: TfModule | null; reason?: string }> {
  try {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return { tf: null, reason: 'its wasm backend did not initialise' };
    await tf.ready();
    return { tf };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      return { tf: null, reason: '@tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are not installed (npm install them to compare)' };
    }
    return { tf: null, reason: (error as Error).message.split('\n')[0] };
  }
}

/** Runs `fn` in `tf.tidy` and returns nothing, so whatever it makes is disposed. */
export function tidyVoid(tf: TfModule, fn: () => unknown): void {
  tf.tidy(() => {
    fn();
  });
}

/** The message TF.js throws from `fn`, or null when it does not throw. */
export function thrownBy(tf: TfModule, fn: () => unknown): string | null {
  try {
    tidyVoid(tf, fn);
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}
