/** (being written) assembly/groupnorm.ts */
export interface GroupNormKernels {}
