/** (being written) assembly/attention.ts */
export interface AttentionKernels {}
