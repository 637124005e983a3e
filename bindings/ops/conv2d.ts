/** (being written) assembly/conv2d.ts */
export interface Conv2dKernels {}
