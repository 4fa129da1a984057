import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { asCloudError } from '../errors.ts';
import { secretFingerprint } from '../model/naming.ts';
import type { Platform } from '../model/platform.ts';
import type { SiteStatus } from '../model/status.ts';
import { isOwnedBy, type Tags } from '../model/tags.ts';
import type { Ports } from '../ports/index.ts';
import type { EditRecord, Heartbeat, StoredSpec, StoredStatus } from '../ports/store.ts';
import {
  DEFAULT_INTERVAL_SECONDS,
  dutyHolder,
  heartbeatsByRegion,
  isQuiet,
  type Liveness,
} from '../decide/ownership.ts';
import type { SecretFingerprints } from '../decide/origin-secret.ts';
import { decideSite, type PeerReport } from '../decide/site.ts';
import { desiredSite, regionsWithoutPlatform, siteTaskDefinitions } from '../plan/desired.ts';
import { imageStall } from '../plan/image.ts';
import { planSite, priorityAllocator } from '../plan/site.ts';
import { findLostEdits } from '../spec/edits.ts';
import { promoteCanary } from '../spec/promote.ts';
import type { Site } from '../spec/schema.ts';
import { validateSite, type SpecProblem } from '../spec/validate.ts';
import { applySitePlan } from './apply.ts';
import { Limiters } from './limiter.ts';
import { limitedPorts } from './limited-ports.ts';
import { observe } from './observe.ts';
import { siteStatus, statusChanged, type SiteOutcome } from './status.ts';

export interface PassOptions {
  ports: Ports;
  platform: Platform;
  /**
   * The region whose reconciler runs this pass. It observes and changes only
   * this region, reads and writes only this region's replica of the table
   * (`ports.store`), and takes the global duties of the sites whose holder it is.
   */
  region: string;
  /** Most calls in flight per region (and for CloudFront). Default 10. */
  maxInFlightPerRegion?: number;
  /** Plan and report only: no action is applied and no status written. */
  dryRun?: boolean;
  /** Specs already read (or, for a dry run, specs to try); default: read from the store. */
  specs?: readonly StoredSpec[];
  /** Every region's statuses already read; default: read from the store. */
  statuses?: readonly StoredStatus[];
  /** Edit records already read; default: read from the store. */
  edits?: readonly EditRecord[];
  /** Every region's heartbeats already read; default: read from the store. */
  heartbeats?: readonly Heartbeat[];
  /** Seconds between two passes of a reconciler: a region whose heartbeat is older than 3 of them is quiet. Default 60. */
  intervalSeconds?: number;
  /** Reconcile only these sites; default all. */
  sites?: readonly string[];
  now?: () => Date;
  log?: Logger;
}

export interface PassReport {
  reconcileId: string;
  /** The region whose reconciler ran the pass. */
  region: string;
  sites: SiteOutcome[];
  /** This region's statuses as computed this pass, by site (written only where they changed). */
  statuses: Map<string, SiteStatus>;
  statusWrites: number;
}

/**
 * One region's reconcile pass, ACK style: read everything, compute the
 * delta, apply it, report. Level-triggered: it needs nothing from the
 * previous pass but what the world and the status items hold, so a pass
 * killed anywhere is repaired by the next. Regional: every region runs its
 * own, from its own replica, on its own resources, so no region depends on
 * another to be managed; the global duties (a site's CDN, canary analysis
 * and promotion) are done by one region at a time (decide/ownership.ts).
 */
export async function reconcilePass(options: PassOptions): Promise<PassReport> {
  const { platform, region, dryRun = false } = options;
  const now = options.now ?? (() => new Date());
  const reconcileId = randomUUID();
  const log = options.log?.child({ reconcileId, region });
  const ports = limitedPorts(options.ports, new Limiters(options.maxInFlightPerRegion ?? 10));

  const [specs, statuses, edits, heartbeats] = await Promise.all([
    options.specs ?? ports.store.listSpecs(),
    options.statuses ?? ports.store.listStatuses(),
    options.edits ?? ports.store.listEdits(),
    options.heartbeats ?? ports.store.listHeartbeats(),
  ]);
  const wanted = (name: string) => options.sites === undefined || options.sites.includes(name);
  const specByName = new Map(specs.filter((s) => wanted(s.name)).map((s) => [s.name, s]));
  const reportsBySite = groupBySite(statuses.filter((s) => wanted(s.name)));
  // A status without a spec is a deleted site whose resources may remain.
  const names = [...new Set([...specByName.keys(), ...reportsBySite.keys()])].sort();
  const liveness: Liveness = {
    heartbeats: heartbeatsByRegion(heartbeats),
    now: now().getTime(),
    intervalMs: (options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000,
  };

  const outcomes = names.map((name) =>
    prepare(name, specByName.get(name), reportsBySite.get(name) ?? [], edits, region, platform, liveness),
  );
  const observation = await observe(ports, platform, {
    region,
    sites: outcomes.filter((o) => o.problems === undefined).map((o) => o.name),
    cdnSites: outcomes.filter((o) => o.problems === undefined && o.global).map((o) => o.name),
    // Recorded by this region's last report or by the region that held the CDN before it took over.
    knownDistributions: Object.fromEntries(
      outcomes.map(
        (o) =>
          [
            o.name,
            o.previous?.cdn.distributionId ??
              o.peers.find((p) => p.status?.cdn.distributionId !== undefined)?.status?.cdn.distributionId,
          ] as const,
      ),
    ),
    now: now().getTime(),
    historyDue: new Set(
      outcomes
        .filter((o) => o.problems === undefined && historyDue(o.previous, region, now().getTime()))
        .map((o) => o.name),
    ),
  });

  const decidedAt = now().getTime();
  const originSecrets = secretFingerprints(platform);
  const allocate = priorityAllocator(observation.takenPriorities);
  for (const outcome of outcomes) {
    const observed = observation.sites.get(outcome.name);
    if (observed === undefined) continue;
    outcome.observed = observed;
    if (outcome.stalled !== undefined) continue;
    if (outcome.site !== undefined) {
      outcome.decisions = decideSite(outcome.site, observed, {
        self: region,
        ...(outcome.previous === undefined ? {} : { previous: outcome.previous }),
        peers: outcome.peers,
        global: outcome.global,
        now: decidedAt,
        wantedFamilies: wantedFamilies(outcome.site, platform, region),
        originSecrets,
        metricPeriodMs: (platform.metricPeriodSeconds ?? 60) * 1000,
      });
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

  const report: PassReport = {
    reconcileId,
    region,
    sites: outcomes,
    statuses: new Map(),
    statusWrites: 0,
  };
  for (const outcome of outcomes) {
    const status = siteStatus(outcome, now());
    report.statuses.set(outcome.name, status);
    logOutcome(log, outcome);
  }
  if (!dryRun) report.statusWrites = await writeStatuses(ports, outcomes, report.statuses, log);
  return report;
}

/** Every region's reports on each site; an item from before statuses were per region has no region. */
function groupBySite(statuses: readonly StoredStatus[]): Map<string, StoredStatus[]> {
  const bySite = new Map<string, StoredStatus[]>();
  for (const status of statuses) bySite.set(status.name, [...(bySite.get(status.name) ?? []), status]);
  return bySite;
}

/**
 * Validates a site's spec and works out this region's part in it: its own
 * report from the last pass, the other regions' reports, and whether it holds
 * the site's global duties. No I/O.
 */
function prepare(
  name: string,
  spec: StoredSpec | undefined,
  reports: readonly StoredStatus[],
  edits: readonly EditRecord[],
  region: string,
  platform: Platform,
  liveness: Liveness,
): SiteOutcome {
  const own = reports.find((r) => r.region === region);
  const legacy = reports.find((r) => r.region === undefined && r.unreadable === undefined);
  const readable = (r: StoredStatus | undefined) => (r?.unreadable ? undefined : r?.status);
  // Of an own status that could not be read, what could (its task counts and scaling memory, its CDN) is kept.
  const salvaged =
    own?.unreadable === true &&
    (Object.keys(own.status.regions).length > 0 || own.status.cdn.distributionId !== undefined)
      ? own.status
      : undefined;
  // After an upgrade, the single status the site had before stands in for this region's first report.
  const previous =
    readable(own) ??
    salvaged ??
    (legacy === undefined ? undefined : { ...legacy.status, region, global: false });
  const peers: PeerReport[] = regionsOf(reports)
    .filter((r) => r !== region)
    .map((r) => {
      const status = readable(reports.find((s) => s.region === r));
      return { region: r, ...(status === undefined ? {} : { status }), quiet: isQuiet(r, liveness) };
    });
  const base: SiteOutcome = {
    name,
    region,
    global: false,
    peers,
    paused: false,
    stored: { ...(own === undefined ? {} : { own }), ...(legacy === undefined ? {} : { legacy }) },
    ...(previous === undefined ? {} : { previous }),
    ...(own?.unreadable === true ? { statusUnreadable: salvaged !== undefined ? 'salvaged' : 'lost' } : {}),
  };
  if (spec === undefined) {
    // A deleted site: its CDN is removed by whichever region holds its duties, in the order its reports name.
    return { ...base, global: dutyHolder(dutyOrderOfReports(reports), region, liveness) === region };
  }
  const outcome: SiteOutcome = { ...base, spec: { generation: spec.generation, hash: spec.hash } };
  const lost = findLostEdits(spec, edits);
  if (lost.length > 0) outcome.lostEdits = lost;
  // An invalid spec changes nothing, so whatever duties this region held it still reports.
  const invalid = (problems: SpecProblem[]): SiteOutcome => ({
    ...outcome,
    global: previous?.global ?? false,
    problems,
  });
  // A field of a type JSON lacks, edited in by hand, is named before the spec is validated.
  if (spec.problems !== undefined) return invalid(spec.problems);
  const validation = validateSite(spec.document);
  if (!validation.ok) return invalid(validation.problems);
  const site = validation.site;
  if (site.metadata.name !== name) {
    return invalid([
      {
        field: 'metadata.name',
        message: `is "${site.metadata.name}" but the item is stored as "${name}"; they must match`,
      },
    ]);
  }
  outcome.paused = site.spec.paused;
  outcome.global = dutyHolder(dutyOrder(site), region, liveness) === region;
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

/** The order in which regions take a site's global duties: its primary, then its failover regions as listed. */
export function dutyOrder(site: Site): string[] {
  const { regions } = site.spec;
  return [...regions.filter((r) => r.role === 'primary'), ...regions.filter((r) => r.role !== 'primary')].map(
    (r) => r.name,
  );
}

/** For a deleted site, the order its last reports give: the region that was primary first. */
function dutyOrderOfReports(reports: readonly StoredStatus[]): string[] {
  const roles = new Map<string, string>();
  for (const report of reports)
    for (const [name, r] of Object.entries(report.status.regions)) roles.set(name, r.role);
  for (const name of regionsOf(reports)) if (!roles.has(name)) roles.set(name, 'failover');
  return [...roles]
    .sort(([a, ra], [b, rb]) => Number(rb === 'primary') - Number(ra === 'primary') || (a < b ? -1 : 1))
    .map(([name]) => name);
}

function regionsOf(reports: readonly StoredStatus[]): string[] {
  return [...new Set(reports.flatMap((r) => (r.region === undefined ? [] : [r.region])))].sort();
}

function wantedFamilies(site: Site, platform: Platform, region: string): ReadonlySet<string> {
  const here = siteTaskDefinitions(site, platform)[region];
  if (here === undefined) return new Set();
  return new Set([here.stable.family, ...(here.canary === undefined ? [] : [here.canary.family])]);
}

/**
 * With `promote: auto`, a canary whose analysis succeeded becomes the stable
 * image. This is the one spec write the reconciler makes, and only because the
 * spec asks for it; the global duties' holder makes it, conditional on the
 * generation it read, so a person's edit made meanwhile wins and is never
 * overwritten.
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
    !outcome.global ||
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
 * Writes this region's status of each site where it changed, conditional on
 * the revision read at the start of the pass. A deleted site's status goes
 * once nothing of it remains here (nor of its CDN, for the duties' holder);
 * an item from before statuses were per region goes once the duties' holder
 * has written its own.
 */
async function writeStatuses(
  ports: Ports,
  outcomes: readonly SiteOutcome[],
  statuses: Map<string, SiteStatus>,
  log: Logger | undefined,
): Promise<number> {
  let writes = 0;
  const attempt = async (outcome: SiteOutcome, write: () => Promise<unknown>) => {
    try {
      await write();
      writes += 1;
    } catch (error) {
      log?.warn(
        { site: outcome.name, err: asCloudError(error, 'status') },
        'status not written; the next pass writes it',
      );
    }
  };
  await Promise.all(
    outcomes.map(async (outcome) => {
      const { own, legacy } = outcome.stored;
      const status = statuses.get(outcome.name)!;
      if (outcome.spec === undefined && isGone(outcome)) {
        if (own !== undefined)
          await attempt(outcome, () => ports.store.deleteStatus(outcome.name, outcome.region, own.revision));
        if (legacy !== undefined && outcome.global)
          await attempt(outcome, () => ports.store.deleteStatus(outcome.name, undefined, legacy.revision));
        return;
      }
      if (statusChanged(own?.status, status))
        await attempt(outcome, () => ports.store.putStatus(status, own?.revision ?? 0));
      else if (legacy !== undefined && outcome.global)
        await attempt(outcome, () => ports.store.deleteStatus(outcome.name, undefined, legacy.revision));
    }),
  );
  return writes;
}

/**
 * A deleted site is gone, as far as this region's reconciler can tell, once
 * its region (and the CDN, for the duties' holder) shows nothing it owned,
 * and nothing failed.
 */
export function isGone(outcome: Pick<SiteOutcome, 'name' | 'observed'>): boolean {
  const observed = outcome.observed;
  if (observed === undefined) return false;
  const cdn = observed.cdn;
  if (cdn !== undefined && (cdn.error !== undefined || cdn.distributions.some((d) => d.owned))) return false;
  const mine = (tags: Tags) => isOwnedBy(tags, outcome.name);
  return Object.values(observed.regions).every(
    (r) =>
      r.error === undefined &&
      r.services.every((s) => s.status === 'INACTIVE' || !mine(s.tags)) &&
      !r.targetGroups.some((tg) => mine(tg.tags)) &&
      r.rules.length === 0 &&
      // A task definition whose tags were not read this pass may still be the site's.
      !r.taskDefinitions.some((td) => td.tags === undefined || mine(td.tags)),
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

/** The platform's origin secrets by fingerprint, as the decisions about a rotation need them. */
function secretFingerprints(platform: Platform): SecretFingerprints {
  const previous = platform.previousOriginSecret;
  return {
    current: secretFingerprint(platform.originSecret),
    ...(previous === undefined ? {} : { previous: secretFingerprint(previous) }),
  };
}

/** How often the request history behind the forecast is read for a site: it changes by the hour. */
export const HISTORY_READ_INTERVAL_MS = 60 * 60_000;

/** Whether this region's last read of the site's request history (kept in status) is an hour old, or missing. */
function historyDue(previous: SiteStatus | undefined, region: string, now: number): boolean {
  const readAt = previous?.regions[region]?.scaling?.forecast?.readAt;
  return readAt === undefined || now - readAt >= HISTORY_READ_INTERVAL_MS || readAt > now;
}
