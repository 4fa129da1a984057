import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CallCounter } from './accounting.ts';

/** CloudFront's API, and the dashboard's home, live in us-east-1. */
export const CLOUDFRONT_REGION = 'us-east-1';

export interface ClientOptions {
  /** Attempts per call, the first included, with the SDK's adaptive retry (client-side rate limiting). Default 5. */
  maxAttempts?: number;
  /** Counts every call made through the clients. */
  counter?: CallCounter;
}

type AnyClient =
  ECSClient | ElasticLoadBalancingV2Client | CloudFrontClient | CloudWatchClient | DynamoDBClient;

/**
 * SDK clients created once per service and region and reused across passes
 * and Lambda invocations. Endpoints come from the SDK's own configuration, so
 * AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) send every call elsewhere.
 */
export class AwsClients {
  private readonly cache = new Map<string, AnyClient>();
  constructor(private readonly options: ClientOptions = {}) {}

  ecs(region: string): ECSClient {
    return this.get('ecs', region, () => new ECSClient(this.config(region)));
  }

  elbv2(region: string): ElasticLoadBalancingV2Client {
    return this.get('elbv2', region, () => new ElasticLoadBalancingV2Client(this.config(region)));
  }

  cloudfront(): CloudFrontClient {
    return this.get(
      'cloudfront',
      CLOUDFRONT_REGION,
      () => new CloudFrontClient(this.config(CLOUDFRONT_REGION)),
    );
  }

  cloudwatch(region: string): CloudWatchClient {
    return this.get('cloudwatch', region, () => new CloudWatchClient(this.config(region)));
  }

  dynamodb(region: string): DynamoDBClient {
    return this.get('dynamodb', region, () => new DynamoDBClient(this.config(region)));
  }

  private config(region: string) {
    return { region, maxAttempts: this.options.maxAttempts ?? 5, retryMode: 'adaptive' as const };
  }

  private get<T extends AnyClient>(service: string, region: string, create: () => T): T {
    const key = `${service}:${region}`;
    let client = this.cache.get(key) as T | undefined;
    if (client === undefined) {
      client = create();
      const counter = this.options.counter;
      if (counter !== undefined) {
        // Counted once per operation (not per retry), tagged with the client's region.
        (client.middlewareStack as { add: (mw: unknown, options: unknown) => void }).add(
          (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
            (args: unknown) => {
              counter.record(service, (context.commandName ?? 'Unknown').replace(/Command$/, ''), region);
              return next(args);
            },
          { step: 'initialize', name: 'tandemCallCounter' },
        );
      }
      this.cache.set(key, client);
    }
    return client;
  }
}
