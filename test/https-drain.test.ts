import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

/** The HTTPS drain's handler (bootstrap/https-drain-handler.cjs), driven with a fake CloudFront. */
const { handle } = createRequire(import.meta.url)('../bootstrap/https-drain-handler.cjs') as {
  handle: (event: object, context: object, deps: object) => Promise<string>;
};

const NAME = 'origin-eu-west-1.example.com';
const event = (RequestType: string) => ({
  RequestType,
  ResponseURL: 'https://cloudformation-response.example/presigned',
  StackId: 'stack',
  RequestId: 'request',
  LogicalResourceId: 'HttpsDrain',
  PhysicalResourceId: `tandem-https-drain/${NAME}`,
  ResourceProperties: { OriginName: NAME },
});

interface Distribution {
  Id: string;
  Status: string;
  Comment: string;
  Origins: { Items: { DomainName: string }[] };
}

/** A CloudFront whose distributions change with each ListDistributions page read, as the reconcilers move them. */
function world(states: Distribution[][], remainingMs = 900_000) {
  const answers: object[] = [];
  let reads = 0;
  let slept = 0;
  const deps = {
    ListDistributionsCommand: class {
      constructor(readonly input: object) {}
    },
    client: {
      send: async () => {
        const items = states[Math.min(reads, states.length - 1)]!;
        reads += 1;
        return { DistributionList: { Items: items, IsTruncated: false } };
      },
    },
    put: async (_url: string, body: string) => {
      answers.push(JSON.parse(body) as object);
    },
    sleep: async () => {
      slept += 1;
    },
  };
  const context = { getRemainingTimeInMillis: () => remainingMs - slept * 20_000 };
  return { deps, context, answers, reads: () => reads, slept: () => slept };
}

const site = (Status: string, DomainName: string): Distribution => ({
  Id: 'E123',
  Status,
  Comment: 'tandem site shop',
  Origins: { Items: [{ DomainName }, { DomainName: 'tandem-1.us-east-1.elb.amazonaws.com' }] },
});
const ALB = 'tandem-2.eu-west-1.elb.amazonaws.com';

test('on delete it answers only once no distribution names the origin and every tandem distribution is deployed', async () => {
  const w = world([[site('Deployed', NAME)], [site('InProgress', ALB)], [site('Deployed', ALB)]]);
  const reason = await handle(event('Delete'), w.context, w.deps);
  assert.equal(w.reads(), 3);
  assert.equal(w.slept(), 2);
  assert.match(reason, /no distribution uses origin-eu-west-1\.example\.com/);
  assert.deepEqual(w.answers, [
    {
      Status: 'SUCCESS',
      Reason: reason,
      PhysicalResourceId: `tandem-https-drain/${NAME}`,
      StackId: 'stack',
      RequestId: 'request',
      LogicalResourceId: 'HttpsDrain',
    },
  ]);
});

test('it gives up before its run ends rather than block the stack, and says what still used the name', async () => {
  const w = world([[site('Deployed', NAME)]], 120_000);
  const reason = await handle(event('Delete'), w.context, w.deps);
  assert.match(reason, /^gave up waiting: E123 names origin-eu-west-1\.example\.com/);
  assert.equal(w.answers.length, 1);
  assert.equal((w.answers[0] as { Status: string }).Status, 'SUCCESS');
});

test('create and update answer at once; a failing list answers too', async () => {
  for (const type of ['Create', 'Update']) {
    const w = world([[site('Deployed', NAME)]]);
    assert.equal(await handle(event(type), w.context, w.deps), 'nothing to wait for');
    assert.equal(w.reads(), 0);
    assert.equal(
      (w.answers[0] as { PhysicalResourceId: string }).PhysicalResourceId,
      `tandem-https-drain/${NAME}`,
    );
  }
  const w = world([]);
  w.deps.client.send = async () => {
    throw new Error('AccessDenied');
  };
  assert.match(
    await handle(event('Delete'), w.context, w.deps),
    /could not list the distributions: Error: AccessDenied/,
  );
  assert.equal(w.answers.length, 1);
});

test('with failover names, on delete it also waits until no distribution names any of them; an older resource without them waits for the origin name only', async () => {
  const failoverNames = ['us-east-1.failover.example.com', 'eu-west-1.failover.example.com'];
  const withNames = {
    ...event('Delete'),
    ResourceProperties: { OriginName: NAME, FailoverNames: failoverNames },
  };
  const w = world([
    [site('Deployed', 'eu-west-1.failover.example.com')],
    [site('Deployed', 'us-east-1.failover.example.com')],
    [site('InProgress', ALB)],
    [site('Deployed', ALB)],
  ]);
  const reason = await handle(withNames, w.context, w.deps);
  assert.equal(w.reads(), 4);
  assert.match(
    reason,
    /no distribution uses origin-eu-west-1\.example\.com, us-east-1\.failover\.example\.com, eu-west-1\.failover\.example\.com/,
  );
  assert.equal(
    (w.answers[0] as { PhysicalResourceId: string }).PhysicalResourceId,
    `tandem-https-drain/${NAME}`,
    'the same physical id as before the failover names: adding them replaces nothing',
  );

  const stuck = world([[site('Deployed', 'us-east-1.failover.example.com')]], 120_000);
  assert.match(
    await handle(withNames, stuck.context, stuck.deps),
    /^gave up waiting: E123 names us-east-1\.failover\.example\.com/,
  );

  const older = world([[site('Deployed', 'eu-west-1.failover.example.com')]]);
  assert.match(await handle(event('Delete'), older.context, older.deps), /^no distribution uses origin-/);
  assert.equal(older.reads(), 1);
});
