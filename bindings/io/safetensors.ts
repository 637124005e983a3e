/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written in memory:
 *
 *   [8 bytes: header length L, u64 little-endian] [L bytes: JSON header, space-padded to a multiple of 8] [data]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end) } relative to the start of the
 * data, plus an optional "__metadata__" object of string values (this library stores its model and scheduler
 * configuration there, as JSON). Data is raw little-endian, tensors back to back without gaps.
 * Files written here are readable by the reference implementation and by PyTorch's `safetensors.torch.load_file`.
 *
 * Reading checks the whole header first (safetensors-header.ts), then converts: F32 and F64 to float32 (F64
 * rounded to nearest even, as JavaScript's Float32Array does), F16 and BF16 exactly, in WebAssembly
 * (ops/half.ts; `init()` must have run). Writing stores F32, or F16 / BF16 rounded to nearest even.
 */
import { fromHalfBytes, toHalfBytes, type HalfDtype } from '../ops/half.ts';
import { readSafetensorsHeader, type HeaderEntry } from './safetensors-header.ts';

export { readSafetensorsHeader, type HeaderEntry, type SafetensorsHeader } from './safetensors-header.ts';

/** One tensor of a safetensors file, as float32 values whatever its stored dtype. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** The dtypes `encodeSafetensors` writes. */
export type StoredDtype = 'F32' | HalfDtype;
export const STORED_DTYPES: readonly StoredDtype[] = ['F32', 'F16', 'BF16'];

/** The same three under PyTorch's names (torch_dtype, `ddpm export --dtype`). */
export type WeightDtype = 'float32' | 'float16' | 'bfloat16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16', 'bfloat16'];
/** A PyTorch dtype name's safetensors dtype, and back. */
export const STORED_DTYPE: Readonly<Record<WeightDtype, StoredDtype>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
export const WEIGHT_DTYPE: Readonly<Record<string, WeightDtype>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export interface EncodeOptions {
  /** How every tensor is stored: 'F32' (exact), 'F16' or 'BF16' (half the size, rounded to nearest even). Default 'F32'. */
  dtype?: StoredDtype;
}

/** F16's largest finite value is 65504; finite values from 65520 up would round to infinity. */
const F16_OVERFLOW = 65520;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Serialises tensors (in the order given) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}, options: EncodeOptions = {}): Uint8Array {
  const dtype = checkEncodeOptions(options);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const size = dtype === 'F32' ? 4 : 2;
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: duplicate or reserved tensor name '${name}'`);
    if (!(data instanceof Float32Array)) throw new Error(`safetensors: tensor '${name}' must hold a Float32Array, got ${typeof data}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`safetensors: tensor '${name}' has ${data.length} values for shape [${shape.join(', ')}]`);
    if (dtype === 'F16') checkHalfRange(name, data);
    header[name] = { dtype, shape, data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (utf8Length(json) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, 0, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { data } of tensors) {
    const bytes = dtype === 'F32' ? littleEndianBytes(data) : toHalfBytes(data, dtype);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/**
 * Parses safetensors bytes, checking the whole header against the file before converting anything: a truncated,
 * corrupted or inconsistent file raises a one-line error that says what is wrong (`source` names the file).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'the file'): SafetensorsContents {
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes, source);
  const tensors = new Map<string, NamedTensor>();
  for (const entry of entries) {
    tensors.set(entry.name, { name: entry.name, shape: entry.shape, data: readTensorData(bytes, dataStart, entry) });
  }
  return { tensors, metadata };
}

/** The float32 values of one checked header entry. */
export function readTensorData(bytes: Uint8Array, dataStart: number, entry: HeaderEntry): Float32Array {
  const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
  switch (entry.dtype) {
    case 'F32': {
      // A copy (new Uint8Array(raw)), aligned for float32; Node's Buffer.slice would be a view of its whole pool.
      if (LITTLE_ENDIAN) return new Float32Array(new Uint8Array(raw).buffer);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Float32Array.from({ length: entry.count }, (_, i) => view.getFloat32(i * 4, true));
    }
    case 'F64': {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Float32Array.from({ length: entry.count }, (_, i) => view.getFloat64(i * 8, true));
    }
    default:
      return fromHalfBytes(raw, entry.dtype);
  }
}

function checkEncodeOptions(options: EncodeOptions): StoredDtype {
  if (options === null || typeof options !== 'object') throw new Error(`encodeSafetensors: options must be an object { dtype? }, got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'dtype') throw new Error(`encodeSafetensors: unknown option '${key}'; options are dtype`);
  }
  const dtype = options.dtype ?? 'F32';
  if (!STORED_DTYPES.includes(dtype)) throw new Error(`encodeSafetensors: dtype must be one of ${STORED_DTYPES.join(', ')}, got ${String(dtype)}`);
  return dtype;
}

/** F16 tops out at 65504: a finite value that would be stored as infinity is refused instead. */
function checkHalfRange(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (Math.abs(data[i]) >= F16_OVERFLOW && Number.isFinite(data[i])) {
      throw new Error(`safetensors: tensor '${name}' holds ${data[i]} (element ${i}), beyond F16's range (largest 65504); store it as F32 or BF16`);
    }
  }
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The bytes of a Float32Array in little-endian order, whatever the platform's byte order. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}
