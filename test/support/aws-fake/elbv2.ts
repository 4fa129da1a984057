import {
  type Action,
  CreateRuleCommand,
  type CreateRuleCommandInput,
  CreateTargetGroupCommand,
  type CreateTargetGroupCommandInput,
  DeleteRuleCommand,
  type DeleteRuleCommandInput,
  DeleteTargetGroupCommand,
  type DeleteTargetGroupCommandInput,
  DescribeRulesCommand,
  type DescribeRulesCommandInput,
  DescribeTagsCommand,
  type DescribeTagsCommandInput,
  DescribeTargetGroupsCommand,
  type DescribeTargetGroupsCommandInput,
  DuplicateTagKeysException,
  DuplicateTargetGroupNameException,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  InvalidConfigurationRequestException,
  ListenerNotFoundException,
  ModifyRuleCommand,
  type ModifyRuleCommandInput,
  ModifyTargetGroupAttributesCommand,
  type ModifyTargetGroupAttributesCommandInput,
  ModifyTargetGroupCommand,
  type ModifyTargetGroupCommandInput,
  OperationNotPermittedException,
  PriorityInUseException,
  ResourceInUseException,
  type Rule,
  type RuleCondition,
  RuleNotFoundException,
  type Tag,
  type TargetGroup,
  TargetGroupNotFoundException,
  TooManyTagsException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { handleCommand, type InjectedFailure } from './handler.ts';
import { pageOf, type TargetGroupStatus } from './ecs.ts';

export interface FakeListener {
  region: string;
  listenerArn: string;
  loadBalancerArn: string;
}

export interface FakeElbv2Options {
  /** The listeners that exist (the bootstrap's); each gets a default rule that answers 404. */
  listeners: readonly FakeListener[];
  account?: string;
}

interface FakeTargetGroup {
  group: TargetGroup & { TargetGroupArn: string; TargetGroupName: string };
  attributes: Record<string, string>;
}

interface FakeRule {
  listenerArn: string;
  rule: Rule & { RuleArn: string; Priority: string };
}

interface RegionState {
  targetGroups: Map<string, FakeTargetGroup>;
  rules: Map<string, FakeRule>;
  listeners: Map<string, FakeListener>;
  tags: Map<string, Tag[]>;
}

/** ELBv2's documented limits the fake enforces. */
const PAGE_SIZE_MAX = 400;
const DESCRIBE_TAGS_MAX = 20;
const TAGS_MAX = 50;
const PRIORITY_MAX = 50_000;
const WEIGHT_MAX = 999;

/** Target group attributes a new HTTP target group starts with (the ones tandem may touch). */
const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'load_balancing.algorithm.type': 'round_robin',
  'slow_start.duration_seconds': '0',
};

/**
 * A stateful ELBv2 behind aws-sdk-client-mock, for exactly the commands
 * tandem's adapter sends. As the API reference documents: pages of at most
 * 400 with opaque markers, at most 20 ARNs per DescribeTags (a
 * ValidationError above), CreateTargetGroup idempotent for identical settings
 * and DuplicateTargetGroupName otherwise, ResourceInUse while a rule forwards
 * to a target group, PriorityInUse, RuleNotFound, every listener's default
 * rule in DescribeRules, and the SDK's own exception classes.
 */
export class FakeElbv2 {
  readonly mock: AwsClientStub<ElasticLoadBalancingV2Client>;
  private readonly regions = new Map<string, RegionState>();
  private readonly failures: InjectedFailure[] = [];
  private readonly account: string;
  private seq = 0;

  constructor(options: FakeElbv2Options) {
    this.account = options.account ?? '123456789012';
    for (const listener of options.listeners) {
      const state = this.regionState(listener.region, true);
      state.listeners.set(listener.listenerArn, listener);
      const arn = `${listener.listenerArn.replace(':listener/', ':listener-rule/')}/${this.nextId()}`;
      state.rules.set(arn, {
        listenerArn: listener.listenerArn,
        rule: {
          RuleArn: arn,
          Priority: 'default',
          Conditions: [],
          Actions: [
            {
              Type: 'fixed-response',
              FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'Not Found' },
            },
          ],
          IsDefault: true,
        },
      });
    }
    this.mock = mockClient(ElasticLoadBalancingV2Client);
    this.mock.onAnyCommand().callsFake(() => {
      throw new Error('FakeElbv2 does not implement this command');
    });
    this.handle(DescribeTargetGroupsCommand, 'DescribeTargetGroups', (r, i) =>
      this.describeTargetGroups(r, i),
    );
    this.handle(CreateTargetGroupCommand, 'CreateTargetGroup', (r, i) => this.createTargetGroup(r, i));
    this.handle(ModifyTargetGroupCommand, 'ModifyTargetGroup', (r, i) => this.modifyTargetGroup(r, i));
    this.handle(ModifyTargetGroupAttributesCommand, 'ModifyTargetGroupAttributes', (r, i) =>
      this.modifyTargetGroupAttributes(r, i),
    );
    this.handle(DeleteTargetGroupCommand, 'DeleteTargetGroup', (r, i) => this.deleteTargetGroup(r, i));
    this.handle(DescribeRulesCommand, 'DescribeRules', (r, i) => this.describeRules(r, i));
    this.handle(CreateRuleCommand, 'CreateRule', (r, i) => this.createRule(r, i));
    this.handle(ModifyRuleCommand, 'ModifyRule', (r, i) => this.modifyRule(r, i));
    this.handle(DeleteRuleCommand, 'DeleteRule', (r, i) => this.deleteRule(r, i));
    this.handle(DescribeTagsCommand, 'DescribeTags', (r, i) => this.describeTags(r, i));
  }

  /** Stops intercepting ElasticLoadBalancingV2Client#send. */
  restore(): void {
    this.mock.restore();
  }

  /**
   * The next `times` calls of `operation` (any operation when undefined) fail
   * with a fresh `error()`, before the fake looks at their input.
   */
  fail(operation: string | undefined, error: () => Error, times = 1): void {
    this.failures.push({ operation, error, remaining: times });
  }

  /**
   * What ECS finds when a service names this target group: ECS refuses one
   * that no load balancer forwards to yet ("does not have an associated load balancer").
   */
  targetGroupStatus(region: string, arn: string): TargetGroupStatus {
    const state = this.regionState(region);
    if (!state.targetGroups.has(arn)) return 'missing';
    return this.loadBalancersOf(state, arn).length > 0 ? 'attached' : 'unattached';
  }

  /** A target group's attributes, for assertions. */
  attributes(region: string, arn: string): Readonly<Record<string, string>> | undefined {
    return this.regionState(region).targetGroups.get(arn)?.attributes;
  }

  // ----- plumbing -----

  private handle<I extends object, O>(
    command: new (input: I) => { input: I },
    operation: string,
    body: (region: string, input: I) => O,
  ): void {
    handleCommand(this.mock, this.failures, command, operation, body);
  }

  private regionState(region: string, create = false): RegionState {
    let state = this.regions.get(region);
    if (state === undefined) {
      state = { targetGroups: new Map(), rules: new Map(), listeners: new Map(), tags: new Map() };
      if (create) this.regions.set(region, state);
    }
    return state;
  }

  private nextId(): string {
    this.seq += 1;
    return this.seq.toString(16).padStart(16, '0');
  }

  private loadBalancersOf(state: RegionState, targetGroupArn: string): string[] {
    const listeners = new Set(
      [...state.rules.values()]
        .filter((r) => forwardTargets(r.rule.Actions ?? []).includes(targetGroupArn))
        .map((r) => r.listenerArn),
    );
    return [...new Set([...listeners].map((l) => state.listeners.get(l)!.loadBalancerArn))];
  }

  private groupOut(state: RegionState, tg: FakeTargetGroup): TargetGroup {
    return { ...tg.group, LoadBalancerArns: this.loadBalancersOf(state, tg.group.TargetGroupArn) };
  }

  // ----- target groups -----

  private describeTargetGroups(region: string, input: DescribeTargetGroupsCommandInput) {
    const state = this.regionState(region);
    const pageSize = checkPageSize(input.PageSize);
    let groups = [...state.targetGroups.values()].sort((a, b) =>
      a.group.TargetGroupName < b.group.TargetGroupName ? -1 : 1,
    );
    if (input.TargetGroupArns !== undefined) {
      const missing = input.TargetGroupArns.filter((arn) => !state.targetGroups.has(arn));
      if (missing.length > 0) throw targetGroupNotFound(missing);
      groups = groups.filter((g) => input.TargetGroupArns!.includes(g.group.TargetGroupArn));
    }
    if (input.Names !== undefined) {
      const missing = input.Names.filter((n) => !groups.some((g) => g.group.TargetGroupName === n));
      if (missing.length > 0) throw targetGroupNotFound(missing);
      groups = groups.filter((g) => input.Names!.includes(g.group.TargetGroupName));
    }
    const query = JSON.stringify([input.TargetGroupArns, input.Names, input.LoadBalancerArn]);
    const page = pageOf(groups, pageSize, input.Marker, query, () => validation('Invalid marker.'));
    return {
      TargetGroups: page.items.map((g) => this.groupOut(state, g)),
      ...(page.next === undefined ? {} : { NextMarker: page.next }),
    };
  }

  private createTargetGroup(region: string, input: CreateTargetGroupCommandInput) {
    const state = this.regionState(region);
    const name = input.Name ?? '';
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name) || name.startsWith('internal-'))
      throw validation(
        `Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-), ` +
          'must be at most 32 characters, and must not begin or end with a hyphen.',
      );
    const targetType = input.TargetType ?? 'instance';
    if (targetType !== 'lambda' && (input.Protocol === undefined || input.Port === undefined || !input.VpcId))
      throw validation('A protocol, port and VPC ID are required for target groups of this target type.');
    const group = {
      TargetGroupName: name,
      Protocol: input.Protocol,
      Port: input.Port,
      VpcId: input.VpcId,
      HealthCheckProtocol: input.HealthCheckProtocol ?? input.Protocol,
      HealthCheckPort: input.HealthCheckPort ?? 'traffic-port',
      HealthCheckEnabled: input.HealthCheckEnabled ?? true,
      HealthCheckIntervalSeconds: input.HealthCheckIntervalSeconds ?? 30,
      HealthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds ?? 5,
      HealthyThresholdCount: input.HealthyThresholdCount ?? 5,
      UnhealthyThresholdCount: input.UnhealthyThresholdCount ?? 2,
      HealthCheckPath: input.HealthCheckPath ?? '/',
      Matcher: input.Matcher ?? { HttpCode: '200' },
      TargetType: targetType,
      ProtocolVersion: input.ProtocolVersion ?? 'HTTP1',
      IpAddressType: input.IpAddressType ?? 'ipv4',
    } satisfies TargetGroup;
    checkHealthCheck(group);
    checkTags(input.Tags ?? []);
    const existing = [...state.targetGroups.values()].find((g) => g.group.TargetGroupName === name);
    if (existing !== undefined) {
      // "This operation is idempotent": the same settings answer with the existing group.
      const { TargetGroupArn: _arn, LoadBalancerArns: _lbs, ...settings } = existing.group;
      if (JSON.stringify(settings) === JSON.stringify(group))
        return { TargetGroups: [this.groupOut(state, existing)] };
      throw new DuplicateTargetGroupNameException({
        message: `A target group with the same name '${name}' exists, but with different settings`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const arn = `arn:aws:elasticloadbalancing:${region}:${this.account}:targetgroup/${name}/${this.nextId()}`;
    const created: FakeTargetGroup = {
      group: { TargetGroupArn: arn, ...group },
      attributes: { ...DEFAULT_ATTRIBUTES },
    };
    state.targetGroups.set(arn, created);
    state.tags.set(arn, input.Tags ?? []);
    return { TargetGroups: [this.groupOut(state, created)] };
  }

  private targetGroup(state: RegionState, arn: string | undefined): FakeTargetGroup {
    const tg = state.targetGroups.get(arn ?? '');
    if (tg === undefined) throw targetGroupNotFound([arn ?? '']);
    return tg;
  }

  private modifyTargetGroup(region: string, input: ModifyTargetGroupCommandInput) {
    const state = this.regionState(region);
    const tg = this.targetGroup(state, input.TargetGroupArn);
    const { TargetGroupArn: _arn, ...changes } = input;
    const next = { ...tg.group };
    for (const [key, value] of Object.entries(changes))
      if (value !== undefined) Object.assign(next, { [key]: value });
    checkHealthCheck(next);
    tg.group = next;
    return { TargetGroups: [this.groupOut(state, tg)] };
  }

  private modifyTargetGroupAttributes(region: string, input: ModifyTargetGroupAttributesCommandInput) {
    const state = this.regionState(region);
    const tg = this.targetGroup(state, input.TargetGroupArn);
    for (const attribute of input.Attributes ?? []) {
      const key = attribute.Key ?? '';
      if (!(key in DEFAULT_ATTRIBUTES))
        throw new InvalidConfigurationRequestException({
          message: `The attribute '${key}' is not supported`,
          $metadata: { httpStatusCode: 400 },
        });
      if (key === 'deregistration_delay.timeout_seconds') {
        const seconds = Number(attribute.Value);
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600)
          throw validation('deregistration_delay.timeout_seconds must be an integer from 0 to 3600');
      }
      tg.attributes[key] = attribute.Value ?? '';
    }
    return { Attributes: Object.entries(tg.attributes).map(([Key, Value]) => ({ Key, Value })) };
  }

  private deleteTargetGroup(region: string, input: DeleteTargetGroupCommandInput) {
    const state = this.regionState(region);
    const arn = input.TargetGroupArn ?? '';
    if ([...state.rules.values()].some((r) => forwardTargets(r.rule.Actions ?? []).includes(arn)))
      throw new ResourceInUseException({
        message: `Target group '${arn}' is currently in use by a listener or a rule`,
        $metadata: { httpStatusCode: 400 },
      });
    state.targetGroups.delete(arn);
    state.tags.delete(arn);
    return {};
  }

  // ----- rules -----

  private describeRules(region: string, input: DescribeRulesCommandInput) {
    const state = this.regionState(region);
    const pageSize = checkPageSize(input.PageSize);
    if (input.ListenerArn === undefined) throw validation('A listener ARN must be specified.');
    if (!state.listeners.has(input.ListenerArn))
      throw new ListenerNotFoundException({
        message: `Listener '${input.ListenerArn}' not found`,
        $metadata: { httpStatusCode: 400 },
      });
    const rules = [...state.rules.values()]
      .filter((r) => r.listenerArn === input.ListenerArn)
      .sort((a, b) => priorityOrder(a.rule) - priorityOrder(b.rule));
    const page = pageOf(rules, pageSize, input.Marker, input.ListenerArn, () =>
      validation('Invalid marker.'),
    );
    return {
      Rules: page.items.map((r) => r.rule),
      ...(page.next === undefined ? {} : { NextMarker: page.next }),
    };
  }

  private createRule(region: string, input: CreateRuleCommandInput) {
    const state = this.regionState(region);
    const listenerArn = input.ListenerArn ?? '';
    if (!state.listeners.has(listenerArn))
      throw new ListenerNotFoundException({
        message: `Listener '${listenerArn}' not found`,
        $metadata: { httpStatusCode: 400 },
      });
    const priority = input.Priority ?? 0;
    if (!Number.isInteger(priority) || priority < 1 || priority > PRIORITY_MAX)
      throw validation(`Priority must be between 1 and ${PRIORITY_MAX}.`);
    if (
      [...state.rules.values()].some(
        (r) => r.listenerArn === listenerArn && r.rule.Priority === String(priority),
      )
    )
      throw new PriorityInUseException({
        message: `Priority '${priority}' is currently in use`,
        $metadata: { httpStatusCode: 400 },
      });
    checkConditions(input.Conditions ?? []);
    const actions = this.checkActions(state, input.Actions ?? []);
    checkTags(input.Tags ?? []);
    const arn = `${listenerArn.replace(':listener/', ':listener-rule/')}/${this.nextId()}`;
    const rule: FakeRule['rule'] = {
      RuleArn: arn,
      Priority: String(priority),
      Conditions: input.Conditions ?? [],
      Actions: actions,
      IsDefault: false,
    };
    state.rules.set(arn, { listenerArn, rule });
    state.tags.set(arn, input.Tags ?? []);
    return { Rules: [rule] };
  }

  private rule(state: RegionState, arn: string | undefined): FakeRule {
    const rule = state.rules.get(arn ?? '');
    if (rule === undefined)
      throw new RuleNotFoundException({
        message: `One or more rules not found`,
        $metadata: { httpStatusCode: 400 },
      });
    return rule;
  }

  private modifyRule(region: string, input: ModifyRuleCommandInput) {
    const state = this.regionState(region);
    const found = this.rule(state, input.RuleArn);
    if (found.rule.IsDefault === true && input.Conditions !== undefined)
      throw new OperationNotPermittedException({
        message: 'You cannot modify the conditions of a default rule',
        $metadata: { httpStatusCode: 400 },
      });
    if (input.Conditions !== undefined) {
      checkConditions(input.Conditions);
      found.rule.Conditions = input.Conditions;
    }
    if (input.Actions !== undefined) found.rule.Actions = this.checkActions(state, input.Actions);
    return { Rules: [found.rule] };
  }

  private deleteRule(region: string, input: DeleteRuleCommandInput) {
    const state = this.regionState(region);
    const found = this.rule(state, input.RuleArn);
    if (found.rule.IsDefault === true)
      throw new OperationNotPermittedException({
        message: 'You cannot delete a default rule',
        $metadata: { httpStatusCode: 400 },
      });
    state.rules.delete(found.rule.RuleArn);
    state.tags.delete(found.rule.RuleArn);
    return {};
  }

  /** Forward actions as DescribeRules answers them: a single group is also named in TargetGroupArn. */
  private checkActions(state: RegionState, actions: readonly Action[]): Action[] {
    if (actions.length === 0) throw validation('At least one action must be specified.');
    return actions.map((action) => {
      if (action.Type !== 'forward') return action;
      const groups =
        action.ForwardConfig?.TargetGroups ??
        (action.TargetGroupArn === undefined ? [] : [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }]);
      if (groups.length === 0) throw validation('A forward action must name a target group.');
      for (const g of groups) {
        const weight = g.Weight ?? 1;
        if (!Number.isInteger(weight) || weight < 0 || weight > WEIGHT_MAX)
          throw validation(`Target group weights must be between 0 and ${WEIGHT_MAX}.`);
        if (!state.targetGroups.has(g.TargetGroupArn ?? ''))
          throw targetGroupNotFound([g.TargetGroupArn ?? '']);
      }
      const tuples = groups.map((g) => ({ TargetGroupArn: g.TargetGroupArn, Weight: g.Weight ?? 1 }));
      return {
        Type: 'forward',
        ...(tuples.length === 1 ? { TargetGroupArn: tuples[0]!.TargetGroupArn } : {}),
        ForwardConfig: {
          TargetGroups: tuples,
          TargetGroupStickinessConfig: action.ForwardConfig?.TargetGroupStickinessConfig ?? {
            Enabled: false,
          },
        },
      };
    });
  }

  // ----- tags -----

  private describeTags(region: string, input: DescribeTagsCommandInput) {
    const state = this.regionState(region);
    const arns = input.ResourceArns ?? [];
    if (arns.length === 0 || arns.length > DESCRIBE_TAGS_MAX)
      throw validation(
        `1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: ` +
          `Member must have length less than or equal to ${DESCRIBE_TAGS_MAX}`,
      );
    return {
      TagDescriptions: arns.map((arn) => {
        const tags = state.tags.get(arn);
        if (tags === undefined) {
          if (arn.includes(':targetgroup/')) throw targetGroupNotFound([arn]);
          if (arn.includes(':listener-rule/'))
            throw new RuleNotFoundException({ message: 'One or more rules not found', $metadata: {} });
          throw validation(`'${arn}' is not a valid resource ARN`);
        }
        return { ResourceArn: arn, Tags: tags };
      }),
    };
  }
}

function forwardTargets(actions: readonly Action[]): string[] {
  return actions
    .filter((a) => a.Type === 'forward')
    .flatMap((a) => [
      ...(a.TargetGroupArn === undefined ? [] : [a.TargetGroupArn]),
      ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn ?? ''),
    ]);
}

function priorityOrder(rule: Rule): number {
  return rule.IsDefault === true ? Number.MAX_SAFE_INTEGER : Number(rule.Priority);
}

function checkPageSize(pageSize: number | undefined): number {
  const size = pageSize ?? PAGE_SIZE_MAX;
  if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE_MAX)
    throw validation(`PageSize must be between 1 and ${PAGE_SIZE_MAX}.`);
  return size;
}

function checkHealthCheck(group: TargetGroup): void {
  const path = group.HealthCheckPath ?? '/';
  if (!path.startsWith('/') || path.length > 1024)
    throw validation('Health check path must begin with a slash and be at most 1024 characters.');
  const interval = group.HealthCheckIntervalSeconds ?? 30;
  const timeout = group.HealthCheckTimeoutSeconds ?? 5;
  if (interval < 5 || interval > 300)
    throw validation('Health check interval must be from 5 to 300 seconds.');
  if (timeout < 2 || timeout > 120 || timeout >= interval)
    throw validation('Health check timeout must be from 2 to 120 seconds and smaller than the interval.');
  for (const count of [group.HealthyThresholdCount ?? 5, group.UnhealthyThresholdCount ?? 2])
    if (count < 2 || count > 10) throw validation('Health check thresholds must be from 2 to 10.');
}

function checkConditions(conditions: readonly RuleCondition[]): void {
  if (conditions.length === 0) throw validation('At least one condition must be specified.');
  for (const condition of conditions) {
    if (condition.Field !== 'http-header') continue;
    const header = condition.HttpHeaderConfig;
    const name = header?.HttpHeaderName ?? '';
    if (name.length < 1 || name.length > 40) throw validation('HTTP header names are 1 to 40 characters.');
    const values = header?.Values ?? [];
    if (values.length === 0 || values.some((v) => v.length < 1 || v.length > 128))
      throw validation('HTTP header condition values are 1 to 128 characters.');
  }
}

function checkTags(tags: readonly Tag[]): void {
  if (tags.length > TAGS_MAX)
    throw new TooManyTagsException({
      message: `A resource can have at most ${TAGS_MAX} tags`,
      $metadata: { httpStatusCode: 400 },
    });
  const keys = tags.map((t) => t.Key);
  if (new Set(keys).size !== keys.length)
    throw new DuplicateTagKeysException({
      message: 'Duplicate tag keys',
      $metadata: { httpStatusCode: 400 },
    });
}

function targetGroupNotFound(arns: readonly string[]): TargetGroupNotFoundException {
  return new TargetGroupNotFoundException({
    message: `Target groups '${arns.join(', ')}' not found`,
    $metadata: { httpStatusCode: 400 },
  });
}

/** ELBv2 reports malformed input as a ValidationError, which the SDK has no class for. */
export function validation(message: string): ElasticLoadBalancingV2ServiceException {
  return new ElasticLoadBalancingV2ServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}
