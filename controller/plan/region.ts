import type { RegionAction, WeightedTargetGroup } from '../model/actions.ts';
import { siteOfFamily } from '../model/naming.ts';
import type { ObservedRegion, TaggedTargetGroup } from '../model/observed.ts';
import { isOwnedBy } from '../model/tags.ts';
import type { ServiceState } from '../ports/ecs.ts';
import type { DesiredRegion, DesiredTrack } from './desired.ts';

/** Something that stops a region from converging until a person acts. */
export interface Blocker {
  kind: 'OwnershipConflict';
  resource: string;
  message: string;
}

export interface RegionPlan {
  actions: RegionAction[];
  blockers: Blocker[];
}

/**
 * Plans one site in one region: from what is observed to what `desired` says
 * (or to nothing, when `desired` is undefined because the site or region was
 * removed). Order matters and is safe to stop anywhere: task definitions and
 * target groups first, then the rule that forwards to the groups (ECS only
 * registers into a group a listener uses; a track gets traffic only once it
 * runs a task), then the services; and the rule's traffic moved away before
 * anything is drained and deleted.
 */
export function planRegion(
  site: string,
  desired: DesiredRegion | undefined,
  observed: ObservedRegion,
  allocatePriority: () => number,
): RegionPlan {
  const view: RegionView = {
    site,
    scope: { site, region: observed.region },
    desired,
    tracks: desired?.tracks ?? [],
    observed,
    services: new Map(observed.services.filter((s) => s.status !== 'INACTIVE').map((s) => [s.name, s])),
    targetGroups: new Map(observed.targetGroups.map((tg) => [tg.name, tg])),
  };

  const blockers = view.tracks.flatMap((track) =>
    ownershipBlockers(site, track, view.services, view.targetGroups),
  );
  if (blockers.length > 0) return { actions: [], blockers };

  const drain = drainUnwantedServices(view);
  const actions: RegionAction[] = [
    ...registerTaskDefinitions(view),
    ...createOrFixTargetGroups(view),
    ...ruleActions(view, allocatePriority),
    ...createOrUpdateServices(view),
    ...drain.actions,
    ...deleteUnusedTargetGroups(view, drain.deleting),
    ...deregisterOldTaskDefinitions(view, drain.deleting),
  ];
  return { actions, blockers };
}

/** What every step of a region's plan reads. */
interface RegionView {
  site: string;
  /** The site and region every action names. */
  scope: { site: string; region: string };
  desired: DesiredRegion | undefined;
  tracks: readonly DesiredTrack[];
  observed: ObservedRegion;
  /** Services not yet INACTIVE, by name. */
  services: Map<string, ServiceState>;
  targetGroups: Map<string, TaggedTargetGroup>;
}

/** Task definitions the desired services need and the region lacks. */
function registerTaskDefinitions({ scope, tracks, observed }: RegionView): RegionAction[] {
  const actions: RegionAction[] = [];
  const registered = new Set(observed.taskDefinitions.map((td) => td.family));
  for (const track of tracks) {
    if (registered.has(track.taskDefinition.family)) continue;
    registered.add(track.taskDefinition.family);
    actions.push({ ...scope, kind: 'RegisterTaskDefinition', taskDefinition: track.taskDefinition });
  }
  return actions;
}

/** Target groups the tracks need, created or given the spec's health check. */
function createOrFixTargetGroups({ scope, tracks, desired, targetGroups }: RegionView): RegionAction[] {
  const actions: RegionAction[] = [];
  for (const track of tracks) {
    const tg = targetGroups.get(track.targetGroup);
    if (tg === undefined) {
      actions.push({
        ...scope,
        kind: 'CreateTargetGroup',
        settings: {
          name: track.targetGroup,
          port: desired!.containerPort,
          healthCheckPath: desired!.healthCheckPath,
        },
      });
    } else if (tg.healthCheckPath !== desired!.healthCheckPath) {
      actions.push({
        ...scope,
        kind: 'ModifyTargetGroup',
        name: tg.name,
        arn: tg.arn,
        healthCheckPath: desired!.healthCheckPath,
      });
    }
  }
  return actions;
}

/**
 * One rule on each listener, before the services: ECS only registers a
 * service into a target group that a listener forwards to. Created,
 * corrected, or (with nothing desired) removed; any rule beyond the first on
 * a listener is removed. Each listener the platform item names carries the
 * same rule (the HTTP one always, the HTTPS one where the region has it), so
 * the CDN finds the site on whichever it is pointed at.
 */
function ruleActions(view: RegionView, allocatePriority: () => number): RegionAction[] {
  const { scope, desired, observed } = view;
  const actions: RegionAction[] = [];
  const listeners: (string | undefined)[] = observed.listeners ?? [undefined];
  const onListener = (listener: string | undefined) =>
    observed.listeners === undefined
      ? observed.rules
      : observed.rules.filter((r) => (r.listenerArn ?? observed.listeners![0]) === listener);
  for (const listener of listeners) {
    const [rule, ...extraRules] = [...onListener(listener)].sort((a, b) => a.priority - b.priority);
    if (desired !== undefined) {
      if (rule === undefined) {
        const forward = trafficSplit(view.tracks, view.services, []);
        actions.push({
          ...scope,
          kind: 'CreateRule',
          ...(listener === undefined ? {} : { listenerArn: listener }),
          priority: allocatePriority(),
          header: desired.header,
          forward,
        });
      } else {
        const namesByArn = new Map(observed.targetGroups.map((tg) => [tg.arn, tg.name]));
        const current = rule.forward.map((f) => ({
          targetGroup: namesByArn.get(f.targetGroupArn) ?? f.targetGroupArn,
          weight: f.weight,
        }));
        const forward = trafficSplit(view.tracks, view.services, current);
        const sameHeader =
          rule.header.name === desired.header.name && sameValues(rule.header.values, desired.header.values);
        if (!sameHeader || !sameForward(current, forward)) {
          actions.push({ ...scope, kind: 'ModifyRule', arn: rule.arn, header: desired.header, forward });
        }
      }
    }
    for (const extra of desired === undefined ? onListener(listener) : extraRules) {
      actions.push({ ...scope, kind: 'DeleteRule', arn: extra.arn });
    }
  }
  return actions;
}

/** The tracks' services, created or brought to the desired count, task definition and target group. */
function createOrUpdateServices({
  scope,
  tracks,
  desired,
  services,
  targetGroups,
}: RegionView): RegionAction[] {
  const actions: RegionAction[] = [];
  const failed = new Set(desired?.failedTaskDefinitions ?? []);
  for (const track of tracks) {
    const service = services.get(track.service);
    if (service === undefined) {
      actions.push({
        ...scope,
        kind: 'CreateService',
        name: track.service,
        taskDefinition: track.taskDefinition.family,
        desiredCount: track.desiredCount,
        targetGroup: track.targetGroup,
        containerPort: desired!.containerPort,
      });
      continue;
    }
    // A service deleted earlier is DRAINING; it can be created again once ECS has finished.
    if (service.status !== 'ACTIVE') continue;
    const update: {
      desiredCount?: number;
      taskDefinition?: string;
      targetGroup?: string;
      containerPort?: number;
    } = {};
    if (service.desiredCount !== track.desiredCount) update.desiredCount = track.desiredCount;
    // A task definition ECS failed to deploy (and rolled back) is not sent again: it would fail the same way.
    if (service.taskDefinition !== track.taskDefinition.family && !failed.has(track.taskDefinition.family))
      update.taskDefinition = track.taskDefinition.family;
    const group = targetGroups.get(track.targetGroup);
    if (group === undefined || service.targetGroupArn !== group.arn) {
      update.targetGroup = track.targetGroup;
      update.containerPort = desired!.containerPort;
    }
    if (Object.keys(update).length > 0)
      actions.push({ ...scope, kind: 'UpdateService', name: track.service, ...update });
  }
  return actions;
}

/**
 * Services no longer wanted drain to zero first, then are deleted; returns
 * the services deleted this pass with the actions.
 */
function drainUnwantedServices({ site, scope, tracks, services }: RegionView): {
  actions: RegionAction[];
  deleting: Set<string>;
} {
  const actions: RegionAction[] = [];
  const wanted = new Set(tracks.map((t) => t.service));
  const deleting = new Set<string>();
  for (const service of services.values()) {
    if (wanted.has(service.name) || !isOwnedBy(service.tags, site) || service.status !== 'ACTIVE') continue;
    if (service.desiredCount > 0) {
      actions.push({ ...scope, kind: 'UpdateService', name: service.name, desiredCount: 0 });
    } else if (service.runningCount === 0 && service.pendingCount === 0) {
      actions.push({ ...scope, kind: 'DeleteService', name: service.name });
      deleting.add(service.name);
    }
  }
  return { actions, deleting };
}

/** Target groups no longer wanted go once no rule forwards to them and no live service registers into them. */
function deleteUnusedTargetGroups(
  { site, scope, tracks, services, observed }: RegionView,
  deleting: ReadonlySet<string>,
): RegionAction[] {
  const wantedGroups = new Set(tracks.map((t) => t.targetGroup));
  const inUse = new Set(
    [...services.values()]
      .filter((s) => s.status === 'ACTIVE' && !deleting.has(s.name) && s.targetGroupArn !== undefined)
      .map((s) => s.targetGroupArn!),
  );
  return observed.targetGroups
    .filter((tg) => !wantedGroups.has(tg.name) && isOwnedBy(tg.tags, site) && !inUse.has(tg.arn))
    .map((tg) => ({ ...scope, kind: 'DeleteTargetGroup', name: tg.name, arn: tg.arn }));
}

/**
 * Task definitions: keep the newest revision of each wanted family and of any
 * family a live service's deployments still run, so a rollout can still start
 * (or roll back to) its tasks; deregister the rest of the site's.
 */
function deregisterOldTaskDefinitions(
  { site, scope, tracks, services, observed }: RegionView,
  deleting: ReadonlySet<string>,
): RegionAction[] {
  const keepFamilies = new Set([
    ...tracks.map((t) => t.taskDefinition.family),
    ...[...services.values()]
      .filter((s) => s.status === 'ACTIVE' && !deleting.has(s.name))
      .flatMap((s) => s.deploymentFamilies),
  ]);
  const newest = new Map<string, number>();
  for (const td of observed.taskDefinitions)
    newest.set(td.family, Math.max(newest.get(td.family) ?? 0, td.revision));
  const actions: RegionAction[] = [];
  for (const td of observed.taskDefinitions) {
    // Tags not read this pass (throttled): not proven owned, so left for a later pass.
    if (siteOfFamily(td.family) !== site || td.tags === undefined || !isOwnedBy(td.tags, site)) continue;
    if (keepFamilies.has(td.family) && td.revision === newest.get(td.family)) continue;
    actions.push({ ...scope, kind: 'DeregisterTaskDefinition', family: td.family, arn: td.arn });
  }
  return actions;
}

function ownershipBlockers(
  site: string,
  track: DesiredTrack,
  services: Map<string, ServiceState>,
  targetGroups: Map<string, TaggedTargetGroup>,
): Blocker[] {
  const blockers: Blocker[] = [];
  const service = services.get(track.service);
  if (service !== undefined && !isOwnedBy(service.tags, site)) {
    blockers.push({
      kind: 'OwnershipConflict',
      resource: service.arn,
      message: `ECS service ${track.service} exists without tandem's tags for site ${site}; tandem will not touch it. Rename or delete it.`,
    });
  }
  const tg = targetGroups.get(track.targetGroup);
  if (tg !== undefined && !isOwnedBy(tg.tags, site)) {
    blockers.push({
      kind: 'OwnershipConflict',
      resource: tg.arn,
      message: `target group ${track.targetGroup} exists without tandem's tags for site ${site}; tandem will not touch it. Rename or delete it.`,
    });
  }
  return blockers;
}

/**
 * The rule's weights. Traffic goes to a track only once it has a running task:
 * a new canary gets its share on the pass after its first task is up, rather
 * than sending requests to an empty target group. A track the rule already
 * sends traffic to keeps it while ECS replaces a task that stopped (no
 * deployment in progress, tasks asked for, the running count dipped, maybe to
 * none, for a minute): moving the weight away and back for that would be two
 * writes for what ECS repairs by itself. Only a track with a running task takes
 * another's share away, though: while none has one, every track keeps the
 * spec's weight, so an interrupted pass and an uninterrupted one write the same.
 */
function trafficSplit(
  tracks: readonly DesiredTrack[],
  services: Map<string, ServiceState>,
  current: readonly WeightedTargetGroup[],
): WeightedTargetGroup[] {
  const serving = (t: DesiredTrack) => {
    const service = services.get(t.service);
    if (service === undefined) return false;
    if (service.runningCount > 0) return true;
    const replacing =
      service.desiredCount > 0 &&
      !service.rolloutInProgress &&
      service.failedRollout?.taskDefinition !== service.taskDefinition;
    return replacing && current.some((f) => f.targetGroup === t.targetGroup && f.weight > 0);
  };
  const anyServing = tracks.some((t) => t.weight > 0 && (services.get(t.service)?.runningCount ?? 0) > 0);
  const weights = tracks.map((t) => (anyServing && !serving(t) ? 0 : t.weight));
  const total = weights.reduce((a, b) => a + b, 0);
  return tracks.map((t, i) => ({
    targetGroup: t.targetGroup,
    weight: total === weights[i]! && total > 0 ? 100 : weights[i]!,
  }));
}

function sameForward(a: readonly WeightedTargetGroup[], b: readonly WeightedTargetGroup[]): boolean {
  const key = (f: readonly WeightedTargetGroup[]) =>
    f
      .map((x) => `${x.targetGroup}=${x.weight}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}

/** True when two header conditions match the same values: ALB matches any of them, in no order. */
function sameValues(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((value) => set.has(value));
}
