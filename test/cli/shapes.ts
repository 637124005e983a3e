/**
 * A user's folder of pictures, made for tests: `count` 32x32 PNGs of one coloured shape each (a circle, a square
 * or a triangle of one of six colours, at a random place and size) on a light background, drawn by sharp from
 * SVG. The same seed gives the same files (a small linear congruential generator: test data, not a numeric path).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const COLOURS = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4'];

/** One shape's SVG element, centred at (x, y) with half-size r. */
function shape(kind: number, x: number, y: number, r: number, colour: string): string {
  if (kind === 0) return `<circle cx="${x}" cy="${y}" r="${r}" fill="${colour}"/>`;
  if (kind === 1) return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${colour}"/>`;
  return `<polygon points="${x},${y - r} ${x - r},${y + r} ${x + r},${y + r}" fill="${colour}"/>`;
}

/** Writes `count` pictures into `folder` (created if missing) as 0000.png, 0001.png, ...; returns the folder. */
export async function writeShapes(folder: string, count: number, seed = 1): Promise<string> {
  mkdirSync(folder, { recursive: true });
  let state = seed;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = 0; i < count; i++) {
    const colour = COLOURS[Math.floor(uniform() * COLOURS.length)];
    const kind = Math.floor(uniform() * 3);
    const r = 7 + uniform() * 5, x = 10 + uniform() * 12, y = 10 + uniform() * 12;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#f4f1e8"/>${shape(kind, x, y, r, colour)}</svg>`;
    await sharp(Buffer.from(svg)).png().toFile(join(folder, `${String(i).padStart(4, '0')}.png`));
  }
  return folder;
}
