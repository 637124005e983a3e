// Types of scenarios.js (plain JavaScript, which browsers and the harness load as it is).
import type { Scenario } from './report.ts';

export declare const scenarios: Scenario[];
