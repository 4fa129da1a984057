import { isRegionAction, type Action } from '../model/actions.ts';
import { describeTarget } from '../reconcile/apply.ts';
import type { Reporter, SiteView } from '../reconcile/view.ts';

const REDACTED = '(secret)';

/** An action as a person reads it in a plan: the origin header's secret never shows. */
export function redact(action: Action): Action {
  if (action.kind === 'CreateRule' || action.kind === 'ModifyRule') {
    return {
      ...action,
      header: { name: action.header.name, values: action.header.values.map(() => REDACTED) },
    };
  }
  if (action.kind === 'CreateDistribution' || action.kind === 'UpdateDistribution') {
    return {
      ...action,
      config: {
        ...action.config,
        origins: action.config.origins.map((o) => ({
          ...o,
          customHeaders: Object.fromEntries(Object.keys(o.customHeaders).map((k) => [k, REDACTED])),
        })),
      },
    };
  }
  return action;
}

export function planTable(actions: readonly Action[]): string {
  if (actions.length === 0) return 'No changes: the world matches the spec.';
  const rows = actions.map((action, i) => [
    String(i + 1),
    isRegionAction(action) ? action.region : 'global',
    action.kind,
    describeTarget(action),
    detail(action),
  ]);
  return `${table(['#', 'REGION', 'ACTION', 'TARGET', 'DETAIL'], rows)}\n${actions.length} action(s).`;
}

function detail(action: Action): string {
  switch (action.kind) {
    case 'RegisterTaskDefinition':
      return `${action.taskDefinition.image} cpu ${action.taskDefinition.cpu} memory ${action.taskDefinition.memory} ${action.taskDefinition.architecture}`;
    case 'CreateTargetGroup':
      return `port ${action.settings.port}, health ${action.settings.healthCheckPath}`;
    case 'ModifyTargetGroup':
      return `health ${action.healthCheckPath}`;
    case 'CreateService':
      return `${action.desiredCount} task(s) of ${action.taskDefinition}`;
    case 'UpdateService':
      return [
        action.desiredCount === undefined ? '' : `desired ${action.desiredCount}`,
        action.taskDefinition === undefined ? '' : `task definition ${action.taskDefinition}`,
        action.targetGroup === undefined ? '' : `target group ${action.targetGroup}`,
      ]
        .filter(Boolean)
        .join(', ');
    case 'CreateRule':
    case 'ModifyRule':
      return `${action.header.name} → ${action.forward.map((f) => `${f.targetGroup} ${f.weight}%`).join(', ')}`;
    case 'CreateDistribution':
    case 'UpdateDistribution': {
      const c = action.config;
      const group =
        c.originGroup === undefined
          ? ''
          : `, fails over ${c.originGroup.primaryOriginId} → ${c.originGroup.failoverOriginId} on ${c.originGroup.statusCodes.join('/')}`;
      return `${c.enabled ? 'enabled' : 'disabled'}, origins ${c.origins.map((o) => o.id).join(' + ')}${group}`;
    }
    default:
      return '';
  }
}

/**
 * The status's regions, the primary first, then the others in `order` (the
 * spec's list, whose first failover region is the CDN's), then any left by name.
 */
export function orderedRegions(
  status: Pick<SiteView, 'regions'>,
  order: readonly string[] = [],
): [string, SiteView['regions'][string]][] {
  const rank = (name: string, role: string) => {
    const listed = order.indexOf(name);
    return [role === 'primary' ? 0 : 1, listed === -1 ? order.length : listed] as const;
  };
  return Object.entries(status.regions).sort(([a, ra], [b, rb]) => {
    const [roleA, listedA] = rank(a, ra.role);
    const [roleB, listedB] = rank(b, rb.role);
    return roleA - roleB || listedA - listedB || a.localeCompare(b);
  });
}

/** Conditions and per-region counts of one site, every region's report merged, as `tandem describe` prints them. */
export function describeStatus(
  status: SiteView,
  generation: number | undefined,
  regionOrder: readonly string[] = [],
  now = Date.now(),
): string {
  const regions = orderedRegions(status, regionOrder);
  const lines = [`Site: ${status.site}`];
  lines.push(`Generation: ${generation ?? '?'} (observed ${status.observedGeneration})`);
  if (status.cdn.distributionId !== undefined) {
    lines.push(`CDN: ${status.cdn.domainName} (${status.cdn.distributionId}, ${status.cdn.state})`);
  }
  if (status.cdn.dnsFailover === true)
    lines.push('DNS failover: on (a region that stops answering its health check is answered by the other)');
  const order = status.cdn.originOrder;
  if (order !== undefined && order.changedAt !== undefined) {
    const deployed =
      order.deployedAt === undefined
        ? 'not deployed yet'
        : `deployed ${new Date(order.deployedAt).toISOString()}`;
    lines.push(
      `CDN asks first: ${order.first} (${order.reason}; changed ${new Date(order.changedAt).toISOString()}, ${deployed})`,
    );
  }
  if (status.reporters.length > 0) {
    lines.push('', 'Reconcilers (each region reports its own):');
    for (const r of status.reporters) lines.push(`  ${reporterLine(r, now)}`);
  }
  lines.push('', 'Conditions:');
  lines.push(
    table(
      ['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'],
      Object.entries(status.conditions)
        .sort(([a], [b]) => conditionRank(a) - conditionRank(b))
        .map(([type, c]) => [type, c.status, c.reason, c.lastTransitionTime, c.message]),
    ),
  );
  lines.push('', 'Regions:');
  lines.push(
    table(
      [
        'REGION',
        'ROLE',
        'STABLE (desired/running/pending)',
        'CANARY (desired/running/pending)',
        'CANARY %',
        'REQ/MIN',
        'STATE',
      ],
      regions.map(([name, r]) => [
        name,
        r.role,
        `${r.stable.desired}/${r.stable.running}/${r.stable.pending}`,
        `${r.canary.desired}/${r.canary.running}/${r.canary.pending}`,
        String(r.canaryWeight),
        r.requestsPerMinute === undefined ? '-' : String(r.requestsPerMinute),
        r.degraded === undefined ? 'ok' : `${r.degraded.reason}: ${r.degraded.message}`,
      ]),
    ),
  );
  const scaling = regions.filter(([, r]) => r.scaling !== undefined);
  if (scaling.length > 0) {
    lines.push('', 'Scaling (why this many tasks):');
    for (const [name, r] of scaling) {
      lines.push(
        `  ${name}  ${r.scaling!.decision.tasks} task(s): ${r.scaling!.decision.reason}, ${r.scaling!.decision.message}`,
      );
    }
  }
  if (status.canary !== undefined) {
    const c = status.canary;
    lines.push(
      '',
      `Canary analysis: ${c.tag} ${c.phase} at ${c.weight}% (${c.failedChecks} failed check(s)): ${c.message}`,
    );
  }
  if (status.lastActions.length > 0) {
    lines.push('', 'Last actions:');
    for (const a of status.lastActions) lines.push(`  ${a.region ?? 'global'}  ${a.kind} ${a.target}`);
  }
  if (status.errors.length > 0) {
    lines.push('', 'Errors:');
    for (const e of status.errors)
      lines.push(`  ${e.region ?? 'global'}  ${e.kind} ${e.resource}: ${e.message}`);
  }
  return lines.join('\n');
}

/** `us-east-1  last pass 12 s ago, holds the global duties` or `… quiet since …`. */
export function reporterLine(r: Reporter, now: number): string {
  const pass =
    r.lastPassAt === undefined
      ? 'no pass recorded'
      : `last pass ${Math.max(0, Math.round((now - r.lastPassAt) / 1000))} s ago (${new Date(r.lastPassAt).toISOString()})`;
  const notes = [
    r.quiet ? 'QUIET: its reconciler stopped reporting; its region may be lost' : '',
    r.global ? 'holds the global duties (CDN, canary analysis)' : '',
    `observed generation ${r.observedGeneration}`,
  ].filter(Boolean);
  return `${r.region || '(before per-region status)'}  ${pass}; ${notes.join('; ')}`;
}

/** `us-east-1, eu-west-1 (quiet)`: who reported, as `tandem get` lists it. */
export function reportersCell(reporters: readonly Reporter[]): string {
  return reporters.map((r) => `${r.region || 'legacy'}${r.quiet ? ' (quiet)' : ''}`).join(', ') || '-';
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Ready, Reconciling and Stalled first (kstatus), then the rest by name. */
function conditionRank(type: string): number {
  const order = [
    'Ready',
    'Reconciling',
    'Stalled',
    'Degraded',
    'FailoverActive',
    'CanaryProgressing',
    'CanaryFailed',
  ];
  const i = order.indexOf(type);
  return i === -1 ? order.length : i;
}
