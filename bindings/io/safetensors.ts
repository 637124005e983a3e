/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written in memory:
 *
 *   [8 bytes: header length L, u64 little-endian] [L bytes: JSON header, space-padded to a multiple of 8] [data]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end) } relative to the start of the
 * data, plus an optional "__metadata__" object of string values (this library stores its model and scheduler
 * configuration there, as JSON). Data is raw little-endian, tensors back to back without gaps.
 * Files written here are readable by the reference implementation and by PyTorch's `safetensors.torch.load_file`.
 */

/** One tensor of a safetensors file. Only F32 is written; F32, F16, BF16 and F64 are read (converted to F32). */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100 * 1024 * 1024;

/** Serialises tensors (in the order given) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: duplicate or reserved tensor name '${name}'`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`safetensors: tensor '${name}' has ${data.length} values for shape [${shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
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
    out.set(littleEndianBytes(data), at);
    at += data.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes, checking the header against the file: a truncated or corrupted file raises an error
 * that says what is wrong (`source` names the file in messages).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'the file'): SafetensorsContents {
  const fail = (what: string): never => {
    throw new Error(`safetensors: ${source} is not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
    fail(`the header claims ${headerLength} bytes but the file has ${bytes.length} (truncated, or not safetensors)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    return fail('its header is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('its header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, NamedTensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object') fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as object)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in BYTES_PER_ELEMENT)) {
      fail(`tensor '${name}' has dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(BYTES_PER_ELEMENT).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = BYTES_PER_ELEMENT[dtype as string];
    if (end - begin !== count * size) fail(`tensor '${name}' spans ${end - begin} bytes, but ${dtype} [${(shape as number[]).join(', ')}] needs ${count * size}`);
    if (end > dataLength) fail(`tensor '${name}' ends at byte ${end} of the data, which has only ${dataLength} (the file is truncated)`);
    ranges.push([begin, end, name]);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { name, shape: shape as number[], data: toFloat32(raw, dtype as string, count) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== covered) fail(`tensor '${name}' starts at byte ${begin}, expected ${covered} (overlapping or gapped data)`);
    covered = end;
  }
  if (covered !== dataLength) fail(`the data has ${dataLength} bytes but the tensors cover ${covered}`);
  return { tensors, metadata };
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The bytes of a Float32Array in little-endian order, whatever the platform's byte order. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Whether this platform stores numbers little-endian (every engine this library runs on does). */
const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

function toFloat32(raw: Uint8Array, dtype: string, count: number): Float32Array {
  // F32 on a little-endian platform: the file's bytes are the array's bytes; a byte copy keeps every bit (NaN
  // payloads too) and loads a model several times faster than a loop of reads. (new Uint8Array(raw) copies; a
  // Node Buffer's slice() would not.)
  if (dtype === 'F32' && LITTLE_ENDIAN) return new Float32Array(new Uint8Array(raw).buffer);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32': out[i] = view.getFloat32(i * 4, true); break;
      case 'F64': out[i] = view.getFloat64(i * 8, true); break;
      case 'F16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      default: out[i] = bfloat16ToFloat(view.getUint16(i * 2, true)); break;
    }
  }
  return out;
}

const bits = new DataView(new ArrayBuffer(4));

/** IEEE half to float by moving bits (exact, no Math). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return (sign * mantissa) / 16777216; // subnormal: mantissa * 2^-24
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  bits.setUint32(0, ((h & 0x8000) << 16) | ((exponent + 112) << 23) | (mantissa << 13));
  return bits.getFloat32(0);
}

/** bfloat16 is the top half of a float32. */
function bfloat16ToFloat(b: number): number {
  bits.setUint32(0, b << 16);
  return bits.getFloat32(0);
}
