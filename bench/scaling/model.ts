/**
 * The region the scaling benchmark simulates, at one-minute resolution. Every
 * policy runs against the same model; only its decisions differ.
 *
 * Timeline of minute t: at its start (the decision instant) tasks whose start
 * completes at t join the healthy set, the policy decides, new tasks start and
 * surplus tasks stop; then minute t's demand is served by the healthy tasks.
 */
export interface RegionModel {
  /** Requests a task serves in a minute before latency breaks (C). */
  capacityPerTask: number;
  /**
   * Minutes between the end of a minute and its ALB datapoint being readable:
   * at the start of minute t the newest complete minute is t − 1, and its
   * datapoint lands about a minute later, so minute t − 2 is the newest a
   * policy can read (delay 2).
   */
  metricDelayMinutes: number;
  /**
   * Minutes from a task's start to serving, drawn uniformly per task: 60–90 s
   * from start to healthy means a task started at t serves from t + 1 or t + 2.
   */
  startDelayMinutes: readonly number[];
  minTasks: number;
  maxTasks: number;
  /** Seed of the start-delay draws; every policy gets the same sequence. */
  seed: number;
}

export const REGION_MODEL: RegionModel = {
  capacityPerTask: 1000,
  metricDelayMinutes: 2,
  startDelayMinutes: [1, 2],
  minTasks: 1,
  maxTasks: 200,
  seed: 20260101,
};
