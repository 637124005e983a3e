/**
 * The likelihood view of a diffusion model: its variational bound on -log p(x0), term by term, for a batch
 * (`variationalBound`) or over a dataset with confidence intervals (`evaluateLikelihood`).
 */
export { variationalBound, DECODER_KINDS, LIKELIHOOD_NOISE_STRIDE, type BoundOptions, type BoundTerms, type DecoderKind } from './bound.ts';
export { BoundWorkers } from './bound-workers.ts';
export { evaluateLikelihood, estimate, natsToBits, type Estimate, type LikelihoodEvaluation, type LikelihoodEvaluationOptions } from './evaluate.ts';
