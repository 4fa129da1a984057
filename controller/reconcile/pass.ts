import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { asCloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { SiteStatus } from '../model/status.ts';
import { isOwnedBy, type Tags } from '../model/tags.ts';
import type { Ports } from '../ports/index.ts';
import type { StoredSpec, StoredStatus } from '../ports/store.ts';
import { decideSite } from '../decide/site.ts';
import { desiredSite, regionsWithoutPlatform, siteTaskDefinitions } from '../plan/desired.ts';
import { imageStall } from '../plan/image.ts';
import { planSite, priorityAllocator } from '../plan/site.ts';
import { promoteCanary } from '../spec/promote.ts';
import { validateSite } from '../spec/validate.ts';
import { applySitePlan } from './apply.ts';
import { Limiters } from './limiter.ts';
import { limitedPorts } from './limited-ports.ts';
import { observe } from './observe.ts';
import { siteStatus, statusChanged, type SiteOutcome } from './status.ts';

export interface PassOptions {
  ports: Ports;
  platform: Platform;
  /** Most calls in flight per region (and for CloudFront). Default 10. */
  maxInFlightPerRegion?: number;
  /** Plan and report only: no action is applied and no status written. */
  dryRun?: boolean;
  /** Specs already read (or, for a dry run, specs to try); default: read from the store. */
  specs?: readonly StoredSpec[];
  /** Statuses already read; default: read from the store. */
  statuses?: readonly StoredStatus[];
  /** Reconcile only these sites; default all. */
  sites?: readonly string[];
  now?: () => Date;
  log?: Logger;
}

export interface PassReport {
  reconcileId: string;
  sites: SiteOutcome[];
  /** Statuses as computed this pass, by site (written only where they changed). */
  statuses: Map<string, SiteStatus>;
  statusWrites: number;
}

/**
 * One reconcile pass, ACK style: read everything, compute the delta, apply it,
 * report. Level-triggered: it needs nothing from the previous pass but what
 * the world and the status items hold, so a pass killed anywhere is repaired
 * by the next.
 */
export async function reconcilePass(options: PassOptions): Promise<PassReport> {
  const { platform, dryRun = false } = options;
  const now = options.now ?? (() => new Date());
  const reconcileId = randomUUID();
  const log = options.log?.child({ reconcileId });
  const ports = limitedPorts(options.ports, new Limiters(options.maxInFlightPerRegion ?? 10));

  const [specs, statuses] = await Promise.all([
    options.specs ?? ports.store.listSpecs(),
    options.statuses ?? ports.store.listStatuses(),
  ]);
  const wanted = (name: string) => options.sites === undefined || options.sites.includes(name);
  const specByName = new Map(specs.filter((s) => wanted(s.name)).map((s) => [s.name, s]));
  const statusByName = new Map(statuses.filter((s) => wanted(s.name)).map((s) => [s.name, s]));
  // A status without a spec is a deleted site whose resources may remain.
  const names = [...new Set([...specByName.keys(), ...statusByName.keys()])].sort();

  const outcomes = names.map((name) =>
    prepare(name, specByName.get(name), statusByName.get(name)?.status, platform),
  );
  const toObserve = outcomes.filter((o) => o.problems === undefined).map((o) => o.name);
  const observation = await observe(ports, platform, {
    sites: toObserve,
    knownDistributions: Object.fromEntries(
      names.map((n) => [n, statusByName.get(n)?.status.cdn.distributionId]),
    ),
    now: now().getTime(),
  });

  const decidedAt = now().getTime();
  const allocate = priorityAllocator(observation.takenPriorities);
  for (const outcome of outcomes) {
    const observed = observation.sites.get(outcome.name);
    if (observed === undefined) continue;
    outcome.observed = observed;
    if (outcome.stalled !== undefined) continue;
    if (outcome.site !== undefined) {
      const families = Object.fromEntries(
        Object.entries(siteTaskDefinitions(outcome.site, platform)).map(([region, t]) => [
          region,
          new Set([t.stable.family, ...(t.canary === undefined ? [] : [t.canary.family])]),
        ]),
      );
      outcome.decisions = decideSite(outcome.site, observed, outcome.previous, decidedAt, families);
      outcome.desired = desiredSite(outcome.site, platform, outcome.decisions);
    }
    outcome.plan = planSite(outcome.desired, observed, allocate);
  }

  if (!dryRun) {
    await Promise.all(
      outcomes.map(async (outcome) => {
        if (outcome.plan === undefined || outcome.paused || outcome.plan.actions.length === 0) return;
        outcome.applied = await applySitePlan(ports, platform, outcome.observed!, outcome.plan.actions);
      }),
    );
    await Promise.all(
      outcomes.map((outcome) => autoPromote(ports, outcome, specByName.get(outcome.name), log)),
    );
  }

  const report: PassReport = { reconcileId, sites: outcomes, statuses: new Map(), statusWrites: 0 };
  for (const outcome of outcomes) {
    const status = siteStatus(outcome, now());
    report.statuses.set(outcome.name, status);
    logOutcome(log, outcome);
  }
  if (!dryRun) report.statusWrites = await writeStatuses(ports, outcomes, report.statuses, statusByName, log);
  return report;
}

/** Validates a site's spec; no I/O. What it should look like is decided once the world is observed. */
function prepare(
  name: string,
  spec: StoredSpec | undefined,
  previous: SiteStatus | undefined,
  platform: Platform,
): SiteOutcome {
  const base = { name, paused: false, ...(previous === undefined ? {} : { previous }) };
  if (spec === undefined) return base;
  const outcome: SiteOutcome = { ...base, spec: { generation: spec.generation, hash: spec.hash } };
  const validation = validateSite(spec.document);
  if (!validation.ok) return { ...outcome, problems: validation.problems };
  const site = validation.site;
  if (site.metadata.name !== name) {
    return {
      ...outcome,
      problems: [
        {
          field: 'metadata.name',
          message: `is "${site.metadata.name}" but the item is stored as "${name}"; they must match`,
        },
      ],
    };
  }
  outcome.paused = site.spec.paused;
  const missing = regionsWithoutPlatform(site, platform);
  if (missing.length > 0) {
    outcome.stalled = {
      reason: 'NoPlatform',
      message: `no tandem platform in ${missing.join(', ')}: deploy the bootstrap there or remove the region from the spec`,
    };
    return outcome;
  }
  const unpullable = imageStall(site, platform);
  if (unpullable !== undefined) return { ...outcome, stalled: unpullable };
  outcome.site = site;
  return outcome;
}

/**
 * With `promote: auto`, a canary whose analysis succeeded becomes the stable
 * image. This is the one spec write the reconciler makes, and only because the
 * spec asks for it; it is conditional on the generation this pass read, so a
 * person's edit made meanwhile wins and is never overwritten.
 */
async function autoPromote(
  ports: Ports,
  outcome: SiteOutcome,
  stored: StoredSpec | undefined,
  log: Logger | undefined,
) {
  const analysis = outcome.site?.spec.canary?.analysis;
  if (
    stored === undefined ||
    outcome.paused ||
    analysis?.promote !== 'auto' ||
    outcome.decisions?.canary?.phase !== 'Succeeded'
  )
    return;
  try {
    await ports.store.putSpec(outcome.name, promoteCanary(stored.document), stored.generation);
    outcome.promoted = true;
    log?.info({ site: outcome.name, tag: outcome.decisions.canary.tag }, 'canary promoted');
  } catch (error) {
    log?.warn(
      { site: outcome.name, err: asCloudError(error, outcome.name).message },
      'canary not promoted; the next pass retries',
    );
  }
}

/**
 * Writes each status that changed, conditional on the revision read at the
 * start of the pass; a deleted site's status goes once nothing of it remains.
 */
async function writeStatuses(
  ports: Ports,
  outcomes: readonly SiteOutcome[],
  statuses: Map<string, SiteStatus>,
  stored: Map<string, StoredStatus>,
  log: Logger | undefined,
): Promise<number> {
  let writes = 0;
  await Promise.all(
    outcomes.map(async (outcome) => {
      const previous = stored.get(outcome.name);
      const status = statuses.get(outcome.name)!;
      try {
        if (outcome.spec === undefined && isGone(outcome)) {
          if (previous !== undefined) {
            await ports.store.deleteStatus(outcome.name, previous.revision);
            writes += 1;
          }
          return;
        }
        if (!statusChanged(previous?.status, status)) return;
        await ports.store.putStatus(status, previous?.revision ?? 0);
        writes += 1;
      } catch (error) {
        log?.warn(
          { site: outcome.name, err: asCloudError(error, 'status') },
          'status not written; the next pass writes it',
        );
      }
    }),
  );
  return writes;
}

/** A deleted site is gone once no region and no CDN shows anything it owned, and nothing failed. */
function isGone(outcome: SiteOutcome): boolean {
  const observed = outcome.observed;
  if (
    observed === undefined ||
    observed.cdn.error !== undefined ||
    observed.cdn.distributions.some((d) => d.owned)
  )
    return false;
  const mine = (tags: Tags) => isOwnedBy(tags, outcome.name);
  return Object.values(observed.regions).every(
    (r) =>
      r.error === undefined &&
      r.services.every((s) => s.status === 'INACTIVE' || !mine(s.tags)) &&
      !r.targetGroups.some((tg) => mine(tg.tags)) &&
      r.rules.length === 0 &&
      !r.taskDefinitions.some((td) => mine(td.tags)),
  );
}

function logOutcome(log: Logger | undefined, outcome: SiteOutcome): void {
  if (log === undefined) return;
  const site = outcome.name;
  if (outcome.problems !== undefined)
    log.warn({ site, problems: outcome.problems }, 'spec is invalid; nothing applied');
  for (const result of outcome.applied?.results ?? []) {
    const region = 'region' in result.action ? result.action.region : 'global';
    if (result.error === undefined) log.info({ site, region, action: result.action.kind }, 'applied');
    else
      log.error(
        { site, region, action: result.action.kind, kind: result.error.kind, err: result.error.message },
        'action failed',
      );
  }
}
