import type { Ports } from '../ports/index.ts';
import type { Limiters } from './limiter.ts';

/**
 * The ports with every call bounded per region: ECS, load balancer and metrics
 * calls by their region (their first argument), CloudFront and the store each
 * on its own.
 */
export function limitedPorts(ports: Ports, limiters: Limiters): Ports {
  return {
    ecs: limitObject(ports.ecs, (args) => String(args[0]), limiters),
    loadBalancer: limitObject(ports.loadBalancer, (args) => String(args[0]), limiters),
    metrics: limitObject(ports.metrics, (args) => String(args[0]), limiters),
    // Any two keys do that differ from each other and from every region name: the Limiters is the pass's own.
    // Stryker disable next-line ArrowFunction,StringLiteral: equivalent, as above
    cdn: limitObject(ports.cdn, () => 'cloudfront', limiters),
    // Stryker disable next-line ArrowFunction,StringLiteral: equivalent, as above
    store: limitObject(ports.store, () => 'store', limiters),
  };
}

function limitObject<T extends object>(target: T, keyOf: (args: unknown[]) => string, limiters: Limiters): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        limiters
          .for(keyOf(args))
          .run(() => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args));
    },
  });
}
