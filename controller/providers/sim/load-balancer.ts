import { CloudError } from '../../errors.ts';
import { regionListeners } from '../../model/platform.ts';
import { DESCRIBE_TAGS_MAX, type LoadBalancerPort, type RuleState } from '../../ports/load-balancer.ts';
import { page, type SimContext } from './context.ts';
import { SIM_ACCOUNT, type SimRegion } from './world.ts';

const ELB_PAGE = 400;

/**
 * Each region's ALB in the simulated cloud: target groups and the rules of the
 * platform's listener, with ELB's name, priority and in-use conflicts.
 */
export function simLoadBalancer(sim: SimContext): LoadBalancerPort {
  const api: LoadBalancerPort = {
    describeTargetGroups: (region, next) =>
      sim.call('elbv2', 'DescribeTargetGroups', region, false, () =>
        page(
          Object.values(sim.region(region).targetGroups)
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .map(({ tags: _tags, createdAtTick: _created, ...tg }) => tg),
          ELB_PAGE,
          next,
        ),
      ),
    describeRules: (region, listenerArn, next) =>
      sim.call('elbv2', 'DescribeRules', region, false, () => {
        checkListener(sim, region, listenerArn);
        return page(
          Object.values(sim.region(region).rules)
            .filter((rule) => rule.listenerArn === listenerArn)
            .sort((a, b) => a.priority - b.priority)
            .map(({ tags: _tags, listenerArn: _listener, ...rule }): RuleState => rule),
          ELB_PAGE,
          next,
        );
      }),
    describeTags: (region, arns) =>
      sim.call('elbv2', 'DescribeTags', region, false, () => {
        if (arns.length > DESCRIBE_TAGS_MAX)
          throw new CloudError('Invalid', 'DescribeTags', 'at most 20 resources per call');
        const r = sim.region(region);
        return Object.fromEntries(
          arns.map((arn) => {
            const tags = r.targetGroups[arn]?.tags ?? r.rules[arn]?.tags;
            if (tags === undefined) throw new CloudError('NotFound', arn, 'resource not found');
            return [arn, tags];
          }),
        );
      }),
    createTargetGroup: async (region, vpcId, settings, tags) => {
      const state = await sim.call('elbv2', 'CreateTargetGroup', region, true, () => {
        const r = sim.region(region);
        if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(settings.name))
          throw new CloudError(
            'Invalid',
            settings.name,
            'ValidationError: target group names are 1–32 letters, digits or hyphens, not starting or ending with a hyphen',
          );
        const existing = Object.values(r.targetGroups).find((tg) => tg.name === settings.name);
        if (existing !== undefined) {
          // CreateTargetGroup is idempotent: the same settings answer with the existing group.
          const same =
            existing.vpcId === vpcId &&
            existing.port === settings.port &&
            existing.healthCheckPath === settings.healthCheckPath;
          if (!same) throw new CloudError('Conflict', settings.name, 'DuplicateTargetGroupName');
          const { tags: _existingTags, ...state } = existing;
          return state;
        }
        const arn = `arn:aws:elasticloadbalancing:${region}:${SIM_ACCOUNT}:targetgroup/${settings.name}/${sim.nextId()}`;
        const tg = { arn, vpcId, ...settings, tags, createdAtTick: sim.world.ticks ?? 0 };
        r.targetGroups[arn] = tg;
        const { tags: _tags, createdAtTick: _created, ...state } = tg;
        return state;
      });
      // As the AWS adapter does: a second call sets the deregistration delay, and if it fails the
      // group is deleted again (the delay is not observed, so it would never be corrected).
      try {
        await sim.call('elbv2', 'ModifyTargetGroupAttributes', region, true, () => {
          if (sim.region(region).targetGroups[state.arn] === undefined)
            throw new CloudError('NotFound', state.arn, 'TargetGroupNotFound');
        });
      } catch (error) {
        await api.deleteTargetGroup(region, state.arn).catch(() => undefined);
        throw error;
      }
      return state;
    },
    modifyTargetGroup: (region, arn, settings) =>
      sim.call('elbv2', 'ModifyTargetGroup', region, true, () => {
        const tg = sim.region(region).targetGroups[arn];
        if (tg === undefined) throw new CloudError('NotFound', arn, 'TargetGroupNotFound');
        tg.healthCheckPath = settings.healthCheckPath;
      }),
    deleteTargetGroup: (region, arn) =>
      sim.call('elbv2', 'DeleteTargetGroup', region, true, () => {
        const r = sim.region(region);
        if (Object.values(r.rules).some((rule) => rule.forward.some((f) => f.targetGroupArn === arn))) {
          throw new CloudError(
            'Conflict',
            arn,
            'ResourceInUse: a listener rule forwards to this target group',
          );
        }
        delete r.targetGroups[arn];
      }),
    createRule: (region, listenerArn, priority, settings, tags) =>
      sim.call('elbv2', 'CreateRule', region, true, () => {
        const r = sim.region(region);
        checkListener(sim, region, listenerArn);
        if (!Number.isInteger(priority) || priority < 1 || priority > 50_000)
          throw new CloudError('Invalid', `priority ${priority}`, 'ValidationError: priorities are 1–50000');
        if (
          Object.values(r.rules).some(
            (rule) => rule.listenerArn === listenerArn && rule.priority === priority,
          )
        ) {
          throw new CloudError('Conflict', `priority ${priority}`, 'PriorityInUse');
        }
        checkForward(r, settings.forward);
        const arn = `${listenerArn.replace(':listener/', ':listener-rule/')}/${sim.nextId()}`;
        r.rules[arn] = { arn, listenerArn, priority, ...settings, tags };
        return { arn, priority, ...settings };
      }),
    modifyRule: (region, arn, settings) =>
      sim.call('elbv2', 'ModifyRule', region, true, () => {
        const r = sim.region(region);
        const rule = r.rules[arn];
        if (rule === undefined) throw new CloudError('NotFound', arn, 'RuleNotFound');
        checkForward(r, settings.forward);
        rule.header = settings.header;
        rule.forward = settings.forward;
      }),
    deleteRule: (region, arn) =>
      sim.call('elbv2', 'DeleteRule', region, true, () => {
        const r = sim.region(region);
        if (r.rules[arn] === undefined) throw new CloudError('NotFound', arn, 'RuleNotFound');
        delete r.rules[arn];
      }),
  };
  return api;
}

function checkListener(sim: SimContext, region: string, listenerArn: string): void {
  const where = sim.platform.regions[region];
  if (where === undefined || !regionListeners(where).includes(listenerArn))
    throw new CloudError('NotFound', listenerArn, 'ListenerNotFound');
}

function checkForward(
  region: SimRegion,
  forward: readonly { targetGroupArn: string; weight: number }[],
): void {
  for (const f of forward) {
    if (region.targetGroups[f.targetGroupArn] === undefined)
      throw new CloudError('NotFound', f.targetGroupArn, 'TargetGroupNotFound');
    if (!Number.isInteger(f.weight) || f.weight < 0 || f.weight > 999)
      throw new CloudError('Invalid', f.targetGroupArn, 'weight must be 0–999');
  }
}
