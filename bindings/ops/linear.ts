/** (being written) assembly/linear.ts */
export interface LinearKernels {}
