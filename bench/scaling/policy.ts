import type { MetricView } from './metrics.ts';
import type { RegionModel } from './model.ts';

/** What a policy knows at the start of a minute. */
export interface PolicyView {
  /** Trace minute (0-based) starting now. */
  minute: number;
  /** Tasks the region is asked to run: the last decision. */
  desired: number;
  /** Tasks that finished starting and serve this minute (ECS "running" in the model). */
  healthy: number;
  /** Started tasks, healthy or still starting. */
  started: number;
  /** The delayed ALB metrics; never the future. */
  metrics: MetricView;
}

export interface PolicyDecision {
  /** Tasks to run from now on; the simulator bounds it to [minTasks, maxTasks]. */
  tasks: number;
  /** Why, in a few words, for the timeline. */
  reason: string;
}

/** A scaling policy for one run over one trace; it may keep state between minutes. */
export interface Policy {
  decide(view: PolicyView): PolicyDecision;
}

/** The policies compared, each built fresh for every trace. */
export interface PolicyEntry {
  /** Name in the report. */
  name: string;
  /** Tasks at minute 0 (already healthy). */
  initialTasks: (requests: readonly number[]) => number;
  create: (requests: readonly number[]) => Policy;
  /** Diagnosis only: a region that differs from the shared model (e.g. a fresher metric). */
  model?: Partial<RegionModel>;
  /** Run only on these traces (e.g. a declared event that fits one trace); default every trace. */
  traces?: readonly string[];
}
