/** (being written) assembly/random.ts */
export interface RandomKernels {}
