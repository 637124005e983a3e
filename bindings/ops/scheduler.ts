/** (being written) assembly/scheduler.ts */
export interface SchedulerKernels {}
