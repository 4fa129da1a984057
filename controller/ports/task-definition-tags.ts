import type { Tags } from '../model/tags.ts';
import type { EcsPort } from './ecs.ts';

/**
 * `ecs` with the tags of the task definitions it has seen kept by ARN. A task
 * definition is immutable once registered and tandem never retags one, so the
 * tags read (or given at registration) once are good for as long as the port
 * lives: on AWS, the Lambda execution environment, across invocations. A
 * steady pass in a warm environment then makes no DescribeTaskDefinition
 * call; in a fresh one it makes one per task definition.
 */
export function withTaskDefinitionTagCache(ecs: EcsPort, cache = new Map<string, Tags>()): EcsPort {
  return {
    ...bound(ecs),
    describeTaskDefinitionTags: async (region, arn) => {
      const cached = cache.get(arn);
      if (cached !== undefined) return cached;
      const tags = await ecs.describeTaskDefinitionTags(region, arn);
      cache.set(arn, tags);
      return tags;
    },
    registerTaskDefinition: async (region, spec, tags) => {
      const ref = await ecs.registerTaskDefinition(region, spec, tags);
      cache.set(ref.arn, ref.tags);
      return ref;
    },
    deregisterTaskDefinition: async (region, arn) => {
      await ecs.deregisterTaskDefinition(region, arn);
      cache.delete(arn);
    },
  };
}

/** Every method of `ecs`, bound to it (a class instance's methods are on its prototype). */
function bound(ecs: EcsPort): EcsPort {
  return {
    listTaskDefinitions: (...args) => ecs.listTaskDefinitions(...args),
    describeTaskDefinitionTags: (...args) => ecs.describeTaskDefinitionTags(...args),
    registerTaskDefinition: (...args) => ecs.registerTaskDefinition(...args),
    deregisterTaskDefinition: (...args) => ecs.deregisterTaskDefinition(...args),
    describeServices: (...args) => ecs.describeServices(...args),
    createService: (...args) => ecs.createService(...args),
    updateService: (...args) => ecs.updateService(...args),
    deleteService: (...args) => ecs.deleteService(...args),
  };
}
