/**
 * Scenarios of the file formats: float32 weights stored as F16 and BF16 in a safetensors file (rounded to
 * nearest even in WebAssembly) and read back, across the half formats' range: large values near F16's top,
 * ordinary ones, and tiny ones in F16's subnormals. Outputs: the stored bytes and the values read back.
 */
import { floats } from './inputs.js';

/** 1031 values: ordinary, large (up to 60,000) and tiny (F16 subnormals, below 2^-14). */
function weights() {
  const values = new Float32Array(1031);
  values.set(floats(400, 2100, 3));
  values.set(floats(331, 2101, 60000), 400);
  values.set(floats(300, 2102, 6e-5), 731);
  return values;
}

/** The data section (after the header) of safetensors bytes. */
function dataOf(bytes) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return bytes.slice(8 + headerLength);
}

export const fileScenarios = [
  {
    name: 'safetensors F16 and BF16: 1031 weights stored and read back',
    needs: ['encodeSafetensors', 'decodeSafetensors'],
    run: (lib) => {
      const tensors = [{ name: 'w', shape: [1031], data: weights() }];
      const out = {};
      for (const dtype of ['F16', 'BF16']) {
        const bytes = lib.encodeSafetensors(tensors, {}, { dtype });
        out[`${dtype}.bytes`] = dataOf(bytes);
        out[`${dtype}.values`] = lib.decodeSafetensors(bytes).tensors.get('w').data;
      }
      return out;
    },
  },
];
