/**
 * The header of a safetensors file, parsed and checked against the file completely before anything else is
 * read or allocated, so that a small corrupted or hostile file is refused at once, not after converting
 * gigabytes (the rules of the reference implementation, huggingface/safetensors, plus the duplicate names it
 * would also refuse):
 *
 * - the 8-byte header length is at most 100,000,000 and within the file; the header is UTF-8 JSON, one object;
 * - no name appears twice; `__metadata__`, when present, maps strings to strings;
 * - each tensor has a known dtype, a shape of non-negative integers, and data_offsets [begin, end] inside the
 *   data with end - begin = product(shape) x the dtype's size;
 * - sorted by offset, the tensors are back to back from the first byte of the data to the last: no gap, no
 *   overlap, nothing left over.
 *
 * Every error is one line: `safetensors: <file> is not a valid safetensors file: <what is wrong>`.
 */

/** The dtypes this library reads, and their sizes in bytes. */
export const READABLE_DTYPES = { F32: 4, F16: 2, BF16: 2, F64: 8 } as const;
export type ReadableDtype = keyof typeof READABLE_DTYPES;

/** The reference's other dtypes: valid files, but not float data this library can use. */
const OTHER_DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64'];

/** The reference's bound on the header length (N_LEN in huggingface/safetensors). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of the header, checked: its data is bytes [dataStart + begin, dataStart + end) of the file. */
export interface HeaderEntry {
  name: string;
  dtype: ReadableDtype;
  shape: number[];
  /** Number of elements (the product of the shape). */
  count: number;
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** The tensors, in the header's order. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data in the file. */
  dataStart: number;
}

/** Parses and checks the header of safetensors `bytes`; `source` names the file in errors. Allocates nothing large. */
export function readSafetensorsHeader(bytes: Uint8Array, source = 'the file'): SafetensorsHeader {
  const fail = (what: string): never => {
    throw new Error(`safetensors: ${source} is not a valid safetensors file: ${what}`);
  };
  if (!(bytes instanceof Uint8Array)) throw new Error(`safetensors: the bytes of ${source} must be a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLength > MAX_HEADER_BYTES) fail(`the header claims ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} allowed (not safetensors, or corrupted)`);
  if (8 + headerLength > bytes.length) fail(`the header claims ${headerLength} bytes but the file has ${bytes.length} (truncated, or not safetensors)`);
  const text = decodeUtf8(bytes.subarray(8, 8 + headerLength)) ?? fail('its header is not UTF-8 text');
  if (!text.startsWith('{')) fail('its header does not start with \'{\' (not a JSON object)');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    return fail('its header is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('its header is not a JSON object');
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) fail(`the name '${duplicate}' appears twice in its header`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as object)) {
    if (name === '__metadata__') metadata = checkMetadata(value, fail);
    else entries.push(checkEntry(name, value, dataLength, fail));
  }
  checkLayout(entries, dataLength, fail);
  return { entries, metadata, dataStart };
}

function checkMetadata(value: unknown, fail: (what: string) => never): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object of strings');
  const metadata: Record<string, string> = {};
  for (const [key, text] of Object.entries(value as object)) {
    if (typeof text !== 'string') fail(`__metadata__ entry '${key}' is not a string`);
    metadata[key] = text;
  }
  return metadata;
}

function checkEntry(name: string, value: unknown, dataLength: number, fail: (what: string) => never): HeaderEntry {
  const what = `tensor '${name}'`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`${what} is not an object { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string' || !(dtype in READABLE_DTYPES)) {
    const readable = Object.keys(READABLE_DTYPES).join(', ');
    if (typeof dtype === 'string' && OTHER_DTYPES.includes(dtype)) fail(`${what} has dtype ${dtype}; this library reads ${readable}`);
    fail(`${what} has dtype ${JSON.stringify(dtype) ?? 'undefined'}, which is not a safetensors dtype (this library reads ${readable})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${what} has shape ${short(shape)}; a shape is an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`${what} has data_offsets ${short(offsets)}; they are [begin, end], two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) fail(`${what} has data_offsets [${begin}, ${end}] outside the data (${dataLength} bytes; the file may be truncated)`);
  const size = READABLE_DTYPES[dtype as ReadableDtype];
  // The element count, stopping as soon as it exceeds what the data could hold (no overflow past 2^53).
  let count = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : shape as number[]) {
    count *= d;
    if (count * size > dataLength) fail(`${what} of shape [${(shape as number[]).join(', ')}] needs more bytes than the whole data (${dataLength})`);
  }
  if (end - begin !== count * size) fail(`${what} spans ${end - begin} bytes, but ${dtype} [${(shape as number[]).join(', ')}] needs ${count * size}`);
  return { name, dtype: dtype as ReadableDtype, shape: [...(shape as number[])], count, begin, end };
}

/** Sorted by offset, the tensors must tile the data exactly. */
function checkLayout(entries: HeaderEntry[], dataLength: number, fail: (what: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of sorted) {
    if (entry.begin < covered) fail(`tensor '${entry.name}' starts at byte ${entry.begin}, inside the previous tensor (overlapping data)`);
    if (entry.begin > covered) fail(`tensor '${entry.name}' starts at byte ${entry.begin}, leaving bytes ${covered}..${entry.begin - 1} unused (a gap in the data)`);
    covered = entry.end;
  }
  if (covered !== dataLength) fail(`the data has ${dataLength} bytes but the tensors cover ${covered}`);
}

/** The header as text, or null when it is not UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The first key that occurs twice in the top-level object of JSON `text` (already known to parse), or null.
 * JSON.parse keeps the last of duplicate keys silently; the reference refuses such a header.
 */
export function firstDuplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const close = endOfString(text, i);
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, close + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = close;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return null;
}

/** The index of the quote that closes the JSON string opening at `start`. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

/** A value for a message, cut short. */
function short(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
