import * as v from 'valibot';
import { objectOnly } from '../spec/valibot.ts';
import {
  CONDITION_TYPES,
  emptyStatus,
  type RegionStatus as RegionStatus_,
  type SiteStatus,
} from './status.ts';

/**
 * A status item as read back from a store, checked field by field. The
 * reconciler decides from the status its region wrote before (scaling
 * history, the canary's state) and from the other regions' (their demand,
 * whether they fail), so a status that was edited by hand, or written by
 * another version, must be caught here rather than break a pass. Objects are
 * loose: a field a newer version adds is kept, never a reason to refuse.
 */

const finite = v.pipe(v.number(), v.finite());
const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const time = v.pipe(v.number(), v.finite(), v.minValue(0));
const loose = <T extends v.ObjectEntries>(entries: T) => objectOnly(v.looseObject(entries));

const Condition = loose({
  status: v.picklist(['True', 'False', 'Unknown']),
  reason: v.string(),
  message: v.string(),
  lastTransitionTime: v.string(),
});

const TaskCounts = loose({ desired: count, running: count, pending: count });

const Carrying = loose({
  regions: v.array(v.string()),
  requestsPerMinute: finite,
  since: time,
  healthySince: v.optional(time),
});

const RegionScaling = loose({
  history: v.array(loose({ at: time, tasks: count })),
  decision: loose({ tasks: count, reason: v.string(), message: v.string() }),
  lastHealthyRequestsPerMinute: v.optional(finite),
  carrying: v.optional(Carrying),
  failingSince: v.optional(time),
  unhealthySince: v.optional(time),
  heldSince: v.optional(time),
  healthySince: v.optional(time),
  forecast: v.optional(
    loose({
      readAt: time,
      value: v.optional(
        loose({
          from: time,
          requests: v.array(v.nullable(v.pipe(finite, v.minValue(0)))),
          basis: v.string(),
        }),
      ),
    }),
  ),
});

const RegionStatus = loose({
  role: v.picklist(['primary', 'failover']),
  stable: TaskCounts,
  canary: TaskCounts,
  canaryWeight: v.pipe(finite, v.minValue(0), v.maxValue(100)),
  requestsPerMinute: v.optional(finite),
  healthyTargets: v.optional(finite),
  degraded: v.optional(loose({ reason: v.string(), message: v.string() })),
  failedRollouts: v.optional(
    v.array(loose({ service: v.string(), taskDefinition: v.string(), reason: v.string(), since: time })),
  ),
  scaling: v.optional(RegionScaling),
  targetGroups: v.optional(loose({ stable: v.optional(v.string()), canary: v.optional(v.string()) })),
  httpsRule: v.optional(v.boolean()),
  originSecrets: v.optional(v.array(v.string())),
  canaryTraffic: v.optional(
    loose({
      requestsPerMinute: v.optional(finite),
      errors5xxPerMinute: v.optional(finite),
      p95LatencyMs: v.optional(finite),
    }),
  ),
});

const ActionOrError = loose({
  kind: v.string(),
  target: v.optional(v.string()),
  resource: v.optional(v.string()),
  message: v.optional(v.string()),
  region: v.optional(v.string()),
});

const reportEntries = {
  site: v.string(),
  observedGeneration: count,
  observedHash: v.string(),
  conditions: objectOnly(v.record(v.string(), Condition)),
  regions: objectOnly(v.record(v.string(), RegionStatus)),
  cdn: loose({
    distributionId: v.optional(v.string()),
    domainName: v.optional(v.string()),
    state: v.optional(v.picklist(['InProgress', 'Deployed'])),
    originSecret: v.optional(v.string()),
    originOrder: v.optional(
      loose({
        primary: v.string(),
        failover: v.string(),
        first: v.string(),
        reason: v.string(),
        changedAt: v.optional(time),
        deployedAt: v.optional(time),
        primaryHealthySince: v.optional(time),
        servingSince: v.optional(time),
        moves: v.optional(v.array(time)),
        movedFor: v.optional(v.picklist(['PrimaryFailing', 'CdnFailingOver'])),
      }),
    ),
    dnsFailover: v.optional(v.boolean()),
    error: v.optional(v.string()),
  }),
  canary: v.optional(
    loose({
      tag: v.string(),
      phase: v.picklist(['Progressing', 'Succeeded', 'Failed']),
      weight: v.pipe(finite, v.minValue(0), v.maxValue(100)),
      failedChecks: count,
      lastCheckAt: time,
      message: v.string(),
    }),
  ),
  lastActions: v.array(ActionOrError),
  errors: v.array(ActionOrError),
};

export const SiteStatusSchema = loose({ ...reportEntries, region: v.string(), global: v.boolean() });

/**
 * A status from before statuses were kept per region: one item for the whole
 * site, all regions in `regions`, no `region` or `global`. Read so an upgrade
 * keeps each region's scaling memory (reconcile/pass.ts).
 */
export const LegacySiteStatusSchema = loose(reportEntries);

export type StatusCheck =
  { ok: true; status: SiteStatus } | { ok: false; issues: readonly v.BaseIssue<unknown>[] };

/** Checks a status read back from a store; `legacy` for an item written before statuses were per region. */
export function checkStatus(value: unknown, legacy = false): StatusCheck {
  const parsed = v.safeParse(legacy ? LegacySiteStatusSchema : SiteStatusSchema, value);
  if (!parsed.success) return { ok: false, issues: parsed.issues };
  const status = parsed.output as unknown as SiteStatus;
  // Conditions of a type this version does not know are dropped: they came from another version.
  const known = new Set<string>(CONDITION_TYPES);
  status.conditions = Object.fromEntries(
    Object.entries(status.conditions).filter(([type]) => known.has(type)),
  ) as SiteStatus['conditions'];
  return { ok: true, status: legacy ? { ...status, region: '', global: false } : status };
}

/**
 * What can still be used of a status that failed its check: its region's
 * entry (task counts and the autoscaler's memory) and its CDN, each when it
 * passes on its own, over an empty status. Undefined when neither does. The
 * rest (conditions and their transition times, the canary, the last actions)
 * starts afresh.
 */
export function salvageStatus(value: unknown, site: string, region: string): SiteStatus | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const body = value as { regions?: unknown; cdn?: unknown; global?: unknown };
  const entry =
    body.regions !== null && typeof body.regions === 'object'
      ? v.safeParse(RegionStatus, (body.regions as Record<string, unknown>)[region])
      : undefined;
  const cdn = v.safeParse(reportEntries.cdn, body.cdn);
  if (entry?.success !== true && !cdn.success) return undefined;
  return {
    ...emptyStatus(site, region),
    global: body.global === true,
    ...(entry?.success === true ? { regions: { [region]: entry.output as RegionStatus_ } } : {}),
    ...(cdn.success ? { cdn: cdn.output as SiteStatus['cdn'] } : {}),
  };
}
