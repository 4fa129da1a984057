import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DistributionConfig, Origin } from '../controller/ports/cdn.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';

function origin(id: string, domainName: string): Origin {
  return {
    id,
    domainName,
    protocol: 'http-only',
    connectionTimeoutSeconds: 2,
    connectionAttempts: 1,
    responseTimeoutSeconds: 10,
    customHeaders: {},
  };
}

function config(first: string, second: string): DistributionConfig {
  return {
    comment: 'test',
    enabled: true,
    aliases: [],
    priceClass: 'PriceClass_100',
    origins: [origin('a', 'a.example'), origin('b', 'b.example')],
    originGroup: { id: 'group', primaryOriginId: first, failoverOriginId: second, statusCodes: [503] },
    targetOriginId: 'group',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 60,
  };
}

test('the simulated CloudFront deploys a change at the next tick by default, or after cdnDeployTicks; the edges keep the last Deployed config until then', async () => {
  const quick = new SimulatedCloud();
  const made = await quick.cdn.createDistribution(config('a', 'b'), {});
  assert.equal(quick.edgeConfig(made.id), undefined, 'nothing at the edges before the first deploy');
  quick.tick();
  assert.equal(quick.world.distributions[made.id]!.status, 'Deployed');
  assert.equal(quick.edgeConfig(made.id)?.originGroup?.primaryOriginId, 'a');

  const slow = new SimulatedCloud({ cdnDeployTicks: 3 });
  const d = await slow.cdn.createDistribution(config('a', 'b'), {});
  slow.tick();
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'InProgress', 'two ticks: still deploying');
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'Deployed');
  const { etag } = await slow.cdn.getDistributionConfig(d.id);
  await slow.cdn.updateDistribution(d.id, config('b', 'a'), etag);
  slow.tick();
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'InProgress');
  assert.equal(slow.edgeConfig(d.id)?.originGroup?.primaryOriginId, 'a', 'the edges keep the old order');
  slow.tick();
  assert.equal(slow.edgeConfig(d.id)?.originGroup?.primaryOriginId, 'b');
});
