import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ports } from '../controller/ports/index.ts';
import { limitedPorts } from '../controller/reconcile/limited-ports.ts';
import { Limiter, Limiters } from '../controller/reconcile/limiter.ts';

/*
 * Calls held in flight: which calls a limit makes wait, and which it lets through. Each held call
 * resolves only when the test says so.
 */

/** A call that ends when `release` is called; `started` says whether it began. */
function held<T>(value: T) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const call = { started: false, release, run: async () => ((call.started = true), await gate, value) };
  return call;
}

/** Lets every ready promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a limiter runs at most its limit at once; the next waiting call starts when one ends, in order, and a failed call frees its place', async () => {
  const limiter = new Limiter(2);
  const a = held('a');
  const b = held('b');
  const c = held('c');
  const d = held('d');
  const results = [a, b, c, d].map((call) => limiter.run(call.run));
  await settle();
  assert.deepEqual([a.started, b.started, c.started, d.started], [true, true, false, false]);
  b.release();
  await settle();
  assert.deepEqual([c.started, d.started], [true, false], 'the first waiting call goes first');
  a.release();
  c.release();
  d.release();
  assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd']);

  const one = new Limiter(1);
  await assert.rejects(
    one.run(() => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await one.run(async () => 'after'), 'after', 'the failed call gave its place back');
});

test('limiters: one per key, made once, each with the limit', async () => {
  const limiters = new Limiters(1);
  assert.equal(limiters.for('us-east-1'), limiters.for('us-east-1'));
  assert.notEqual(limiters.for('us-east-1'), limiters.for('eu-west-1'));
  assert.equal(limiters.for('eu-west-1').limit, 1);
});

/** Ports whose every call is held until released; `started` lists the calls begun, in order. */
function heldPorts() {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const port = (name: string) =>
    new Proxy(
      { notAFunction: 42 },
      {
        get: (target, method) => {
          if (method === 'notAFunction') return target.notAFunction;
          return (...args: unknown[]) => {
            const label = `${name}.${String(method)}(${args.map(String).join(' ')})`;
            const call = held(label);
            release.set(label, call.release);
            started.push(label);
            return call.run();
          };
        },
      },
    );
  const ports = {
    ecs: port('ecs'),
    loadBalancer: port('loadBalancer'),
    metrics: port('metrics'),
    cdn: port('cdn'),
    store: port('store'),
  } as unknown as Ports;
  return { ports, started, release: (label: string) => release.get(label)!() };
}

test('limited ports: ECS, load balancer and metrics calls queue on their region, CloudFront and the store each on their own', async () => {
  const { ports, started, release } = heldPorts();
  const limited = limitedPorts(ports, new Limiters(1));
  const answers = [
    limited.ecs.describeServices('us-east-1', 'c1', []),
    limited.ecs.describeServices('eu-west-1', 'c1', []),
    limited.loadBalancer.describeRules('us-east-1', 'l1'),
    limited.metrics.getMetricData('us-east-1', [], 0, 1),
    limited.loadBalancer.describeRules('eu-west-1', 'l1'),
    limited.cdn.getDistributionConfig('E1'),
    limited.cdn.getDistributionConfig('E2'),
    limited.store.listSpecs(),
    limited.store.listStatuses(),
  ] as Promise<unknown>[];
  await settle();
  assert.deepEqual(started, [
    'ecs.describeServices(us-east-1 c1 )',
    'ecs.describeServices(eu-west-1 c1 )',
    'cdn.getDistributionConfig(E1)',
    'store.listSpecs()',
  ]);
  const next = async (label: string) => {
    const before = started.length;
    release(label);
    await settle();
    return started.slice(before);
  };
  assert.deepEqual(await next('ecs.describeServices(us-east-1 c1 )'), [
    'loadBalancer.describeRules(us-east-1 l1)',
  ]);
  assert.deepEqual(await next('loadBalancer.describeRules(us-east-1 l1)'), [
    'metrics.getMetricData(us-east-1  0 1)',
  ]);
  assert.deepEqual(await next('ecs.describeServices(eu-west-1 c1 )'), [
    'loadBalancer.describeRules(eu-west-1 l1)',
  ]);
  assert.deepEqual(await next('cdn.getDistributionConfig(E1)'), ['cdn.getDistributionConfig(E2)']);
  assert.deepEqual(await next('store.listSpecs()'), ['store.listStatuses()']);
  for (const label of started.slice(-5)) release(label);
  assert.equal((await Promise.all(answers)).length, 9, 'every call ran in the end');
  assert.equal(
    (limited.ecs as unknown as { notAFunction: number }).notAFunction,
    42,
    'a property is read as is',
  );
});
