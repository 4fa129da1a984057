import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isOwnedBy } from '../controller/model/tags.ts';
import {
  assertWorldMatches,
  cloudWrites,
  converge,
  demoDocument,
  editSpecInPlace,
  newSim,
  pass,
  siteView,
  storeSpec,
  valid,
  views,
} from './support/world.ts';
import type { SiteStatus } from '../controller/model/status.ts';

const FIXTURES = new URL('./fixtures/invalid/', import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({
    file,
    ...(JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as {
      field: string;
      message?: string;
      document: unknown;
    }),
  }));

function goodSite() {
  const document = demoDocument();
  document.metadata.name = 'good';
  return document;
}

test('there are at least 40 invalid specs to reconcile', () => {
  assert.ok(fixtures.length >= 40, `only ${fixtures.length} fixtures`);
});

for (const fixture of fixtures) {
  test(`invalid/${fixture.file}: status Invalid names ${fixture.field || 'the document'}, no writes for it, other sites converge`, async () => {
    const sim = newSim(['us-east-1', 'eu-west-1']);
    await storeSpec(sim, fixture.document, 'bad');
    await storeSpec(sim, goodSite());

    await converge(sim);

    const status = siteView(sim, 'bad')!;
    const invalid = status.conditions.Invalid;
    assert.equal(invalid?.status, 'True');
    assert.equal(invalid?.reason, 'InvalidSpec');
    assert.ok(invalid!.message.includes(fixture.field === '' ? 'document' : fixture.field), invalid!.message);
    if (fixture.message !== undefined) {
      const line = `${fixture.field === '' ? 'document' : fixture.field} ${fixture.message}`;
      assert.ok(invalid!.message.includes(line), `${invalid!.message}\nlacks ${line}`);
    }
    assert.equal(status.conditions.Stalled?.status, 'True');
    assert.equal(status.conditions.Ready?.status, 'False');
    assert.equal(status.observedGeneration, 1);

    const tagged = Object.values(sim.world.regions).flatMap((r) => [
      ...Object.values(r.services),
      ...Object.values(r.targetGroups),
      ...Object.values(r.rules),
      ...r.taskDefinitions,
    ]);
    assert.equal(
      tagged.filter((r) => isOwnedBy(r.tags, 'bad') || isOwnedBy(r.tags, 'demo')).length,
      0,
      'nothing created for it',
    );
    assert.equal(Object.values(sim.world.distributions).filter((d) => !isOwnedBy(d.tags, 'good')).length, 0);
    assertWorldMatches(sim, valid(goodSite()));
  });
}

test('an invalid edit of a running site changes nothing in the cloud; what ran keeps running', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const before = sim.snapshot();

  const broken = demoDocument();
  broken.spec.regions[0]!.maxTasks = 1; // below minTasks 3
  await storeSpec(sim, broken);
  sim.resetCalls();
  await pass(sim);

  assert.equal(cloudWrites(sim), 0);
  assert.deepEqual(sim.snapshot(), before);
  const status = siteView(sim, 'demo')!;
  assert.equal(status.observedGeneration, 2);
  assert.match(status.conditions.Invalid!.message, /spec\.regions\[0\]\.minTasks/);

  await storeSpec(sim, demoDocument());
  await pass(sim);
  assert.equal(siteView(sim, 'demo')!.conditions.Invalid, undefined, 'fixing the spec clears Invalid');
});

test('a spec stored under another name than its metadata.name is invalid', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument(), 'other');
  await pass(sim);
  assert.match(siteView(sim, 'other')!.conditions.Invalid!.message, /metadata\.name/);
  assert.equal(sim.cloudWrites().length, 0);
});

test('a region the platform was not deployed to stalls the site without touching anything', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const document = demoDocument();
  document.spec.regions[1]!.name = 'ap-south-1';
  await storeSpec(sim, document);
  await pass(sim);
  const stalled = siteView(sim, 'demo')!.conditions.Stalled!;
  assert.equal(stalled.reason, 'NoPlatform');
  assert.match(stalled.message, /ap-south-1/);
  assert.equal(sim.cloudWrites().length, 0);
});

test('a spec made invalid after it ran keeps its last status: tasks, scaling memory and CDN, and says so; fixed, nothing restarts', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const good = views(sim).get('demo')!;
  const stored = () =>
    Object.fromEntries(
      Object.values(sim.replica('us-east-1').items)
        .filter((i) => i.pk === 'status')
        .map((i) => [i.sk, structuredClone((i.value as { status: SiteStatus }).status)]),
    );
  const before = stored();
  assert.ok(good.cdn.distributionId !== undefined);
  assert.ok(Object.values(good.regions).every((r) => r.stable.desired > 0));

  const broken = demoDocument();
  broken.spec.canary!.weight = 150;
  editSpecInPlace(sim, 'demo', broken);
  sim.resetCalls();
  const invalid = await pass(sim);
  assert.equal(cloudWrites(sim), 0, 'nothing applied');
  const view = invalid.statuses.get('demo')!;
  assert.equal(view.conditions.Invalid?.status, 'True');
  assert.match(view.conditions.Invalid!.message, /spec\.canary\.weight/);
  assert.match(view.conditions.Invalid!.message, /the last valid spec's, which keeps serving/);
  assert.deepEqual(
    view.regions,
    good.regions,
    'the task counts and scaling decisions are the last valid ones',
  );
  assert.deepEqual(view.cdn, good.cdn, 'the CDN is still shown');
  for (const [key, status] of Object.entries(stored()))
    assert.deepEqual(status.regions, before[key]!.regions, `${key}: the autoscaler's memory is kept`);

  editSpecInPlace(sim, 'demo', demoDocument());
  sim.resetCalls();
  const fixed = await pass(sim);
  assert.equal(cloudWrites(sim), 0, 'the world was already what the spec asks');
  assert.equal(fixed.statuses.get('demo')!.conditions.Invalid, undefined);
  assert.equal(fixed.statuses.get('demo')!.conditions.Ready?.status, 'True');
});

test('a site invalid from its first spec claims no last valid state', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const broken = demoDocument();
  broken.spec.canary!.weight = 150;
  await storeSpec(sim, broken);
  await pass(sim);
  const view = (await pass(sim)).statuses.get('demo')!;
  assert.equal(view.conditions.Invalid?.status, 'True');
  assert.doesNotMatch(view.conditions.Invalid!.message, /last valid/);
  assert.deepEqual(view.regions, {});
});
