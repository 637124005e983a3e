/**
 * The drawing pad: a 28x28 canvas, scaled up, drawn on with the mouse, a pen or a finger (pointer events, one
 * pointer at a time), shown exactly as the model will read it (strokes.js rasterises the strokes; no canvas
 * drawing, which anti-aliases differently in every browser).
 */
import { GRID, inkToRGBA, quantize, rasterize } from './strokes.js';

/**
 * Makes `canvas` a drawing pad; `onChange` is called after every change. Returns { strokes() (a copy of the
 * points drawn, in cells), ink() (strokes.js's rasterisation), isEmpty(), clear() }.
 */
export function drawingPad(canvas, onChange = () => {}) {
  const strokes = [];
  let active = null;
  Object.assign(canvas, { width: GRID, height: GRID });

  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [quantize(((event.clientX - box.left) / box.width) * GRID), quantize(((event.clientY - box.top) / box.height) * GRID)];
  };
  const paint = () => {
    const { data } = inkToRGBA(rasterize(strokes));
    canvas.getContext('2d').putImageData(new ImageData(data, GRID, GRID), 0, 0);
  };
  const redraw = () => {
    paint();
    onChange();
  };

  canvas.addEventListener('pointerdown', (event) => {
    if (active || event.button > 0) return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    active = { id: event.pointerId, stroke: [point(event)] };
    strokes.push(active.stroke);
    redraw();
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!active || event.pointerId !== active.id) return;
    const [x, y] = point(event), last = active.stroke[active.stroke.length - 1];
    if (x === last[0] && y === last[1]) return;
    active.stroke.push([x, y]);
    redraw();
  });
  const end = (event) => { if (active && event.pointerId === active.id) active = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  paint();

  return {
    strokes: () => strokes.map((stroke) => stroke.map((p) => [...p])),
    ink: () => rasterize(strokes),
    isEmpty: () => strokes.length === 0,
    clear() {
      strokes.length = 0;
      active = null;
      redraw();
    },
  };
}
