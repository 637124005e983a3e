/**
 * The drawing pad's strokes as the model's input, computed the same way in every browser and in Node (the page's
 * Chromium test draws strokes with simulated pointer events and checks the page's pixels against Node's): plain
 * JavaScript, no imports, only + - * /, Math.sqrt, floor, round, min and max (exact in every engine; no canvas
 * anti-aliasing, which differs between browsers).
 *
 * A stroke is a list of points [x, y] in cells of the 28x28 digit grid (0..28, quantised to 1/8 cell); the pen
 * is a disc of PEN_RADIUS cells dragged along each segment, and a cell's ink is the pen's coverage of its centre,
 * with half a cell of soft edge: ink = clamp(PEN_RADIUS + 0.5 - distance, 0, 1), the largest over all segments.
 */

/** The digit grid's side, in cells. */
export const GRID = 28;
/** The pen's radius, in cells (MNIST strokes are about 2-3 pixels wide). */
export const PEN_RADIUS = 1.1;
/** Points are kept to 1/8 of a cell. */
const STEPS_PER_CELL = 8;

/** A coordinate in cells, kept to 1/8 cell and inside the grid. */
export function quantize(cells) {
  return Math.min(GRID, Math.max(0, Math.round(cells * STEPS_PER_CELL) / STEPS_PER_CELL));
}

/** The ink of every cell, row by row: a Float32Array of GRID * GRID values in [0, 1]. */
export function rasterize(strokes) {
  const ink = new Float64Array(GRID * GRID);
  for (const stroke of strokes) {
    for (let k = 0; k < stroke.length; k++) {
      const [ax, ay] = stroke[k];
      const [bx, by] = stroke[Math.min(k + 1, stroke.length - 1)];
      segment(ink, ax, ay, bx, by);
    }
  }
  return Float32Array.from(ink);
}

/** Inks the cells near the segment a-b (a single point when a = b). */
function segment(ink, ax, ay, bx, by) {
  const reach = PEN_RADIUS + 1;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach)), x1 = Math.min(GRID - 1, Math.floor(Math.max(ax, bx) + reach));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach)), y1 = Math.min(GRID - 1, Math.floor(Math.max(ay, by) + reach));
  const dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const cx = x + 0.5, cy = y + 0.5;
      const t = length2 > 0 ? Math.min(1, Math.max(0, ((cx - ax) * dx + (cy - ay) * dy) / length2)) : 0;
      const px = ax + t * dx - cx, py = ay + t * dy - cy;
      const coverage = Math.min(1, Math.max(0, PEN_RADIUS + 0.5 - Math.sqrt(px * px + py * py)));
      const at = y * GRID + x;
      if (coverage > ink[at]) ink[at] = coverage;
    }
  }
}

/**
 * The model's inputs for a drawing, for samples [C, S, S] (S >= 28; a larger S pads the digit with black, as the
 * digit models were trained): the image, ink mapped to [-1, 1] in every channel, and the inpainting mask, 1 (keep)
 * on the drawn cells (ink >= 0.5) and on the padding, 0 (paint) elsewhere. Float32Arrays of C·S·S and S·S values.
 */
export function editInputs(ink, sampleShape) {
  const [C, S] = sampleShape;
  const pad = (S - GRID) / 2;
  if (!Number.isInteger(pad) || pad < 0 || sampleShape[2] !== S) throw new Error(`editInputs: the drawing pad draws 28x28 digits, the model makes [${sampleShape.join(', ')}]`);
  const image = new Float32Array(C * S * S).fill(-1);
  const mask = new Float32Array(S * S).fill(1);
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < GRID; x++) {
      const value = ink[y * GRID + x], at = (y + pad) * S + x + pad;
      for (let c = 0; c < C; c++) image[c * S * S + at] = 2 * value - 1;
      mask[at] = value >= 0.5 ? 1 : 0;
    }
  }
  return { image, mask };
}

/** The drawing as RGBA bytes (white ink on black), GRID x GRID, for a canvas. */
export function inkToRGBA(ink) {
  const data = new Uint8ClampedArray(GRID * GRID * 4);
  for (let i = 0; i < ink.length; i++) {
    const byte = Math.round(ink[i] * 255);
    data.set([byte, byte, byte, 255], 4 * i);
  }
  return { width: GRID, height: GRID, data };
}
