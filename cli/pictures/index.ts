/**
 * Pictures for the `ddpm` command (Node only, drawn with sharp): image grids, scatter plots of 2-D samples, loss
 * curves, denoising animations and the DDPM paper's strip of x_t; each a function that returns PNG, GIF or WebP
 * bytes, and `savePicture` to write them atomically.
 */
export { imageGrid, toByte, type GridOptions } from './grid.ts';
export { scatterPlot, scatterFrames, symmetricRange, type ScatterOptions } from './scatter.ts';
export { lossCurve, type LossCurveOptions, type LossRow } from './loss.ts';
export { denoisingAnimation, animationFormatFor, type AnimationFormat, type AnimationOptions } from './animation.ts';
export { strip, type StripOptions } from './strip.ts';
export { savePicture, pictureFormat, type PictureFormat } from './save.ts';
