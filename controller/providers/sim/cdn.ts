import { createHash } from 'node:crypto';
import { CloudError } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import type { CdnPort, DistributionSummary } from '../../ports/cdn.ts';
import type { SimContext } from './context.ts';
import { SIM_ACCOUNT, type SimDistribution } from './world.ts';

const CF_PAGE = 100;

/**
 * CloudFront in the simulated cloud: a change is InProgress until time moves
 * on (SimulatedCloud.tick), and updates and deletes need the current ETag.
 */
export function simCdn(sim: SimContext): CdnPort {
  return {
    // As in CloudFront, the marker is the id of the previous page's last distribution and
    // the next page starts after it, so a distribution deleted between pages hides no other.
    listDistributions: (next) =>
      sim.call('cloudfront', 'ListDistributions', 'global', false, () => {
        const after = Object.values(sim.world.distributions)
          .filter((d) => next === undefined || d.id > next)
          .sort((a, b) => (a.id < b.id ? -1 : 1))
          .map(summary);
        const items = after.slice(0, CF_PAGE);
        return after.length > CF_PAGE ? { items, next: items.at(-1)!.id } : { items };
      }),
    listTags: (arn) =>
      sim.call('cloudfront', 'ListTagsForResource', 'global', false, () => {
        const d = Object.values(sim.world.distributions).find((x) => x.arn === arn);
        if (d === undefined) throw new CloudError('NotFound', arn, 'NoSuchResource');
        return d.tags;
      }),
    getDistributionConfig: (id) =>
      sim.call('cloudfront', 'GetDistributionConfig', 'global', false, () => {
        const d = distribution(sim, id);
        return { config: d.config, etag: d.etag };
      }),
    createDistribution: (config, tags) =>
      sim.call('cloudfront', 'CreateDistributionWithTags', 'global', true, () => {
        const id = `E${sim.nextId().toUpperCase()}`;
        const d = {
          id,
          arn: `arn:aws:cloudfront::${SIM_ACCOUNT}:distribution/${id}`,
          domainName: `d${id.toLowerCase()}.cloudfront.sim`,
          status: 'InProgress' as const,
          etag: etagOf(config, sim.world.seq),
          config: structuredClone(config),
          tags: { ...tags },
        };
        sim.world.distributions[id] = d;
        return summary(d);
      }),
    updateDistribution: (id, config, ifMatch) =>
      sim.call('cloudfront', 'UpdateDistribution', 'global', true, () => {
        const d = distribution(sim, id);
        if (ifMatch !== d.etag)
          throw new CloudError(
            'Conflict',
            id,
            'PreconditionFailed: the ETag does not match; read the distribution again',
          );
        d.config = config;
        d.status = 'InProgress';
        d.etag = etagOf(config, ++sim.world.seq);
      }),
    deleteDistribution: (id, ifMatch) =>
      sim.call('cloudfront', 'DeleteDistribution', 'global', true, () => {
        const d = distribution(sim, id);
        if (ifMatch !== d.etag)
          throw new CloudError(
            'Conflict',
            id,
            'PreconditionFailed: the ETag does not match; read the distribution again',
          );
        if (d.config.enabled || d.status !== 'Deployed') {
          throw new CloudError(
            'Conflict',
            id,
            'DistributionNotDisabled: disable it and wait until it is Deployed',
          );
        }
        delete sim.world.distributions[id];
      }),
  };
}

function distribution(sim: SimContext, id: string): SimDistribution {
  const d = sim.world.distributions[id];
  if (d === undefined) throw new CloudError('NotFound', id, 'NoSuchDistribution');
  return d;
}

function summary(d: SimDistribution): DistributionSummary {
  return { id: d.id, arn: d.arn, domainName: d.domainName, status: d.status, config: d.config };
}

function etagOf(config: unknown, seq: number): string {
  return createHash('sha256')
    .update(`${seq}:${canonicalJson(config)}`)
    .digest('hex')
    .slice(0, 14)
    .toUpperCase();
}
