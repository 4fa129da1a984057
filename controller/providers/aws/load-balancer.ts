import {
  type Action,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type Rule,
  type RuleCondition,
  type Tag,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudError } from '../../errors.ts';
import type { Tags } from '../../model/tags.ts';
import type {
  LoadBalancerPort,
  RuleSettings,
  RuleState,
  TargetGroupSettings,
  TargetGroupState,
  WeightedTarget,
} from '../../ports/load-balancer.ts';
import type { Page } from '../../ports/page.ts';
import type { AwsClients } from './clients.ts';
import { fromAwsError } from './errors.ts';

/** The IAM service prefix, for error messages that name the permission to grant. */
const IAM_SERVICE = 'elasticloadbalancing';
/** DescribeTargetGroups and DescribeRules answer at most 400 a page. */
const PAGE_SIZE = 400;
/**
 * How long a deregistered task keeps receiving in-flight requests. ALB's
 * default is 300 s; the site's requests are short, so a drained task goes
 * after 30 s and a rollout or scale-in finishes minutes sooner.
 */
const DEREGISTRATION_DELAY_SECONDS = 30;

/** An Application Load Balancer on AWS SDK v3: target groups and the rules of tandem's listener. */
export class AwsLoadBalancer implements LoadBalancerPort {
  constructor(private readonly clients: AwsClients) {}

  async describeTargetGroups(region: string, next?: string): Promise<Page<TargetGroupState>> {
    const out = await this.call(region, 'DescribeTargetGroups', region, (elb) =>
      elb.send(
        new DescribeTargetGroupsCommand({
          ...(next === undefined ? {} : { Marker: next }),
          PageSize: PAGE_SIZE,
        }),
      ),
    );
    return {
      items: (out.TargetGroups ?? []).map((tg) => targetGroupState(tg, 'DescribeTargetGroups')),
      ...(out.NextMarker ? { next: out.NextMarker } : {}),
    };
  }

  /** The default rule is the bootstrap's and is left out; a page may then hold fewer rules than it read. */
  async describeRules(region: string, listenerArn: string, next?: string): Promise<Page<RuleState>> {
    const out = await this.call(region, 'DescribeRules', listenerArn, (elb) =>
      elb.send(
        new DescribeRulesCommand({
          ListenerArn: listenerArn,
          ...(next === undefined ? {} : { Marker: next }),
          PageSize: PAGE_SIZE,
        }),
      ),
    );
    return {
      items: (out.Rules ?? []).filter((rule) => rule.IsDefault !== true).map((rule) => ruleState(rule)),
      ...(out.NextMarker ? { next: out.NextMarker } : {}),
    };
  }

  async describeTags(region: string, arns: readonly string[]): Promise<Record<string, Tags>> {
    if (arns.length === 0) return {};
    const out = await this.call(region, 'DescribeTags', arns[0]!, (elb) =>
      elb.send(new DescribeTagsCommand({ ResourceArns: [...arns] })),
    );
    const answered = new Map<string, Tags>();
    for (const description of out.TagDescriptions ?? []) {
      if (!description.ResourceArn)
        throw badResponse('DescribeTags', arns[0]!, 'TagDescriptions[].ResourceArn');
      answered.set(description.ResourceArn, fromElbTags(description.Tags, description.ResourceArn));
    }
    return Object.fromEntries(
      arns.map((arn) => {
        const tags = answered.get(arn);
        // Absent tags would read as "not tandem's"; an answer that skips an ARN is a failed read instead.
        if (tags === undefined) throw badResponse('DescribeTags', arn, `the tags of ${arn}`);
        return [arn, tags];
      }),
    );
  }

  /**
   * Creates the group, then shortens its deregistration delay. The delay is
   * not part of what the port observes, so a group left with the default
   * would never be corrected: if the second call fails, the group is deleted
   * again (nothing refers to it yet) and the next pass creates it afresh.
   */
  async createTargetGroup(
    region: string,
    vpcId: string,
    settings: TargetGroupSettings,
    tags: Tags,
  ): Promise<TargetGroupState> {
    const out = await this.call(region, 'CreateTargetGroup', settings.name, (elb) =>
      elb.send(
        new CreateTargetGroupCommand({
          Name: settings.name,
          Protocol: 'HTTP',
          Port: settings.port,
          VpcId: vpcId,
          TargetType: 'ip',
          HealthCheckProtocol: 'HTTP',
          HealthCheckPath: settings.healthCheckPath,
          HealthCheckIntervalSeconds: 10,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 3,
          Matcher: { HttpCode: '200' },
          Tags: toElbTags(tags),
        }),
      ),
    );
    const created = out.TargetGroups?.[0];
    if (created === undefined) throw badResponse('CreateTargetGroup', settings.name, 'TargetGroups[0]');
    const state = targetGroupState(created, 'CreateTargetGroup');
    try {
      await this.call(region, 'ModifyTargetGroupAttributes', state.arn, (elb) =>
        elb.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: state.arn,
            Attributes: [
              { Key: 'deregistration_delay.timeout_seconds', Value: String(DEREGISTRATION_DELAY_SECONDS) },
            ],
          }),
        ),
      );
    } catch (error) {
      await this.deleteTargetGroup(region, state.arn).catch(() => undefined);
      throw error;
    }
    return state;
  }

  async modifyTargetGroup(
    region: string,
    arn: string,
    settings: Pick<TargetGroupSettings, 'healthCheckPath'>,
  ): Promise<void> {
    await this.call(region, 'ModifyTargetGroup', arn, (elb) =>
      elb.send(
        new ModifyTargetGroupCommand({ TargetGroupArn: arn, HealthCheckPath: settings.healthCheckPath }),
      ),
    );
  }

  async deleteTargetGroup(region: string, arn: string): Promise<void> {
    await this.call(region, 'DeleteTargetGroup', arn, (elb) =>
      elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
    );
  }

  async createRule(
    region: string,
    listenerArn: string,
    priority: number,
    settings: RuleSettings,
    tags: Tags,
  ): Promise<RuleState> {
    const out = await this.call(region, 'CreateRule', `${listenerArn} priority ${priority}`, (elb) =>
      elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: priority,
          Conditions: conditions(settings),
          Actions: actions(settings),
          Tags: toElbTags(tags),
        }),
      ),
    );
    const arn = out.Rules?.[0]?.RuleArn;
    if (!arn) throw badResponse('CreateRule', listenerArn, 'Rules[0].RuleArn');
    return {
      arn,
      priority,
      header: { name: settings.header.name, values: [...settings.header.values] },
      forward: settings.forward.map((f) => ({ ...f })),
    };
  }

  async modifyRule(region: string, arn: string, settings: RuleSettings): Promise<void> {
    await this.call(region, 'ModifyRule', arn, (elb) =>
      elb.send(
        new ModifyRuleCommand({ RuleArn: arn, Conditions: conditions(settings), Actions: actions(settings) }),
      ),
    );
  }

  async deleteRule(region: string, arn: string): Promise<void> {
    await this.call(region, 'DeleteRule', arn, (elb) => elb.send(new DeleteRuleCommand({ RuleArn: arn })));
  }

  /** One SDK call with its error as a CloudError. */
  private async call<T>(
    region: string,
    operation: string,
    resource: string,
    send: (elb: ElasticLoadBalancingV2Client) => Promise<T>,
  ): Promise<T> {
    try {
      return await send(this.clients.elbv2(region));
    } catch (error) {
      throw fromAwsError(error, IAM_SERVICE, operation, resource);
    }
  }
}

function conditions(settings: RuleSettings): RuleCondition[] {
  return [
    {
      Field: 'http-header',
      HttpHeaderConfig: { HttpHeaderName: settings.header.name, Values: [...settings.header.values] },
    },
  ];
}

function actions(settings: RuleSettings): Action[] {
  return [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: settings.forward.map((f) => ({ TargetGroupArn: f.targetGroupArn, Weight: f.weight })),
      },
    },
  ];
}

/**
 * Only the ARN and name are required: other tools' target groups (a Lambda
 * target has no port or VPC) share the listing and must not fail it.
 */
function targetGroupState(tg: TargetGroup, operation: string): TargetGroupState {
  if (!tg.TargetGroupArn)
    throw badResponse(operation, tg.TargetGroupName ?? 'target group', 'TargetGroupArn');
  if (!tg.TargetGroupName) throw badResponse(operation, tg.TargetGroupArn, 'TargetGroupName');
  return {
    arn: tg.TargetGroupArn,
    name: tg.TargetGroupName,
    port: tg.Port ?? 0,
    vpcId: tg.VpcId ?? '',
    healthCheckPath: tg.HealthCheckPath ?? '',
  };
}

/**
 * A rule as the port sees it. A rule without a header condition has an empty
 * header name and no values; one whose condition lists several values (it
 * matches any of them) keeps them all, in ALB's order.
 */
function ruleState(rule: Rule): RuleState {
  const arn = rule.RuleArn;
  if (!arn) throw badResponse('DescribeRules', 'rule', 'RuleArn');
  const priority = Number(rule.Priority);
  if (!Number.isInteger(priority) || priority < 1)
    throw badResponse('DescribeRules', arn, 'a numeric Priority');
  const header = rule.Conditions?.find((c) => c.Field === 'http-header')?.HttpHeaderConfig;
  const forwardAction = rule.Actions?.find((a) => a.Type === 'forward');
  const tuples =
    forwardAction?.ForwardConfig?.TargetGroups ??
    (forwardAction?.TargetGroupArn === undefined
      ? []
      : [{ TargetGroupArn: forwardAction.TargetGroupArn, Weight: 1 }]);
  const forward: WeightedTarget[] = tuples.map((t) => {
    if (!t.TargetGroupArn)
      throw badResponse('DescribeRules', arn, 'ForwardConfig.TargetGroups[].TargetGroupArn');
    return { targetGroupArn: t.TargetGroupArn, weight: t.Weight ?? 1 };
  });
  return {
    arn,
    priority,
    header: { name: header?.HttpHeaderName ?? '', values: [...(header?.Values ?? [])] },
    forward,
  };
}

function toElbTags(tags: Tags): Tag[] {
  return Object.keys(tags)
    .sort()
    .map((key) => ({ Key: key, Value: tags[key]! }));
}

function fromElbTags(tags: readonly Tag[] | undefined, resource: string): Tags {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key === undefined) throw badResponse('DescribeTags', resource, 'Tags[].Key');
    out[tag.Key] = tag.Value ?? '';
  }
  return out;
}

/** An AWS answer is outside input too: one without a field tandem relies on is treated as a failed call. */
function badResponse(operation: string, resource: string, field: string): CloudError {
  return new CloudError('Unavailable', resource, `${IAM_SERVICE}:${operation} answered without ${field}`);
}
