/**
 * Progressive canary analysis, after Flagger: every interval, step the weight
 * by stepWeight up to maxWeight while the canary's success rate and p95
 * latency pass; after `threshold` failed checks roll back to 0. No data is a
 * failed check. Pure: the state lives in the site's status.
 */

export interface CanaryAnalysisPolicy {
  intervalSeconds: number;
  stepWeight: number;
  maxWeight: number;
  /** Failed checks before the canary is rolled back. */
  threshold: number;
  /** Lowest share of non-5xx responses, percent. */
  minSuccessPercent: number;
  maxP95LatencyMs: number;
}

export type CanaryPhase = 'Progressing' | 'Succeeded' | 'Failed';

export interface CanaryState {
  /** The canary image tag this analysis is about; a new tag starts a new analysis. */
  tag: string;
  phase: CanaryPhase;
  weight: number;
  failedChecks: number;
  /** Epoch milliseconds of the last check (or of the start). */
  lastCheckAt: number;
  message: string;
}

/** What the canary's target groups served over the last interval, summed over regions. */
export interface CanarySample {
  requests?: number;
  errors5xx?: number;
  /** The worst region's p95. */
  p95LatencyMs?: number;
}

export function analyzeCanary(
  policy: CanaryAnalysisPolicy,
  tag: string,
  previous: CanaryState | undefined,
  sample: CanarySample,
  now: number,
): CanaryState {
  if (previous === undefined || previous.tag !== tag) {
    return {
      tag,
      phase: 'Progressing',
      weight: 0,
      failedChecks: 0,
      lastCheckAt: now,
      message: `analysis of ${tag} started`,
    };
  }
  if (previous.phase !== 'Progressing') return previous;
  if (now - previous.lastCheckAt < policy.intervalSeconds * 1000) return previous;

  // At weight 0 the canary has had no traffic to judge: the first step needs no check.
  if (previous.weight === 0) {
    return step(policy, previous, now, 'first step');
  }
  const verdict = check(policy, sample);
  if (verdict.passed) {
    if (previous.weight >= policy.maxWeight) {
      return {
        ...previous,
        phase: 'Succeeded',
        lastCheckAt: now,
        message: `passed every check up to ${policy.maxWeight}%; ready to promote (${verdict.reason})`,
      };
    }
    return step(policy, previous, now, verdict.reason);
  }
  const failedChecks = previous.failedChecks + 1;
  if (failedChecks >= policy.threshold) {
    return {
      ...previous,
      phase: 'Failed',
      weight: 0,
      failedChecks,
      lastCheckAt: now,
      message: `rolled back after ${failedChecks} failed checks; last: ${verdict.reason}`,
    };
  }
  return {
    ...previous,
    failedChecks,
    lastCheckAt: now,
    message: `check failed (${failedChecks} of ${policy.threshold}): ${verdict.reason}; holding ${previous.weight}%`,
  };
}

function step(policy: CanaryAnalysisPolicy, previous: CanaryState, now: number, why: string): CanaryState {
  const weight = Math.min(previous.weight + policy.stepWeight, policy.maxWeight);
  return {
    ...previous,
    weight,
    lastCheckAt: now,
    message: `${why}; weight ${previous.weight}% → ${weight}%`,
  };
}

function check(policy: CanaryAnalysisPolicy, sample: CanarySample): { passed: boolean; reason: string } {
  const { requests, errors5xx, p95LatencyMs } = sample;
  if (requests === undefined || requests <= 0 || p95LatencyMs === undefined) {
    return { passed: false, reason: 'no data for the canary' };
  }
  const success = 100 * (1 - (errors5xx ?? 0) / requests);
  if (success < policy.minSuccessPercent) {
    return {
      passed: false,
      reason: `success rate ${success.toFixed(2)}% is below ${policy.minSuccessPercent}%`,
    };
  }
  if (p95LatencyMs > policy.maxP95LatencyMs) {
    return {
      passed: false,
      reason: `p95 latency ${Math.round(p95LatencyMs)} ms is above ${policy.maxP95LatencyMs} ms`,
    };
  }
  return { passed: true, reason: `success ${success.toFixed(2)}%, p95 ${Math.round(p95LatencyMs)} ms` };
}
