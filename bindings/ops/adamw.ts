/** (being written) assembly/adamw.ts */
export interface AdamWKernels {}
