/** (being written) assembly/elementwise.ts */
export interface ElementwiseKernels {}
