/**
 * Class labels from users, checked before any conversion: `Int32Array.from([NaN, 1.5])` would silently give
 * [0, 1], so every value must already be an integer in range, and the error names the first one that is not.
 */

/**
 * The labels as an Int32Array, after checking that `values` is an array (or typed array) of integers in
 * [0, limit). `where` starts the error message (e.g. 'DDIMPipeline.generate: classLabels').
 */
export function toClassLabels(where: string, values: unknown, limit: number): Int32Array {
  const isArray = Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof DataView));
  if (!isArray) throw new Error(`${where} must be an array or Int32Array of class labels, got ${describe(values)}`);
  const list = values as ArrayLike<unknown>;
  for (let i = 0; i < list.length; i++) {
    const label = list[i];
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= limit) {
      throw new Error(`${where}[${i}] is ${describe(label)}: labels are integers from 0 to ${limit - 1}`);
    }
  }
  return values instanceof Int32Array ? values : Int32Array.from(list as ArrayLike<number>);
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'null';
  return value === undefined ? 'undefined' : typeof value;
}
