import * as z from 'zod/mini';
import './zod-english.ts';
import { describeFargateMemory, FARGATE_CPU, isFargatePair } from './fargate.ts';
import { AWS_REGIONS } from './regions.ts';

/**
 * The site spec: the one source of truth for what a spec may say and what it
 * defaults to. `specs/site.schema.json` is generated from it (`npm run schema`).
 *
 * Written with `zod/mini`, zod's functional API: esbuild keeps only the
 * functions used, where the classic API's methods bring all of zod's schema
 * types and its JSON Schema generator into the Lambda bundle. Same engine,
 * same issues and messages.
 */

export const API_VERSION = 'tandem.dev/v1';

/** Status codes CloudFront accepts as origin-group failover criteria. */
export const CLOUDFRONT_FAILOVER_CODES = [400, 403, 404, 416, 500, 502, 503, 504] as const;

/**
 * Site names become parts of AWS resource names; the longest is the target
 * group `<site>-canary`, and target group names are limited to 32 characters.
 */
const SITE_NAME = /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/;
const IMAGE_REPOSITORY =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_CERTIFICATE_ARN = /^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;

/** The largest spec document accepted, serialized as JSON. */
export const MAX_SPEC_BYTES = 16 * 1024;

/** A schema with a description, for the generated JSON Schema (classic zod's `.describe`). */
function described<T extends z.core.$ZodType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

const ImageSchema = described(
  z.strictObject({
    repository: z
      .string()
      .check(
        z.maxLength(255, 'must be at most 255 characters'),
        z.regex(IMAGE_REPOSITORY, 'must be an image repository such as public.ecr.aws/acme/site'),
      ),
    tag: z
      .string()
      .check(z.regex(IMAGE_TAG, 'must be an image tag: letters, digits, _ . -, at most 128 characters')),
  }),
  'The stable image every region runs.',
);

/** A whole number: its type checked first, then `int`, then each bound, as classic zod's `.int().min().max()`. */
const whole = (message: string, ...bounds: z.core.$ZodCheck<number>[]) =>
  z.number().check(z.int(message), ...bounds);
const between = (min: number, max: number, message = `must be between ${min} and ${max}`) => [
  z.minimum(min, message),
  z.maximum(max, message),
];

const int = (min: number, max: number, unit = '') =>
  whole(`must be a whole number${unit}`, ...between(min, max));

const AnalysisSchema = described(
  z.strictObject({
    intervalSeconds: described(z._default(int(10, 3600, ' of seconds'), 60), 'Seconds between checks.'),
    stepWeight: described(
      z._default(int(1, 100), 10),
      'Percent added to the canary weight after each passing check.',
    ),
    maxWeight: described(
      z._default(int(1, 100), 50),
      'Weight at which the analysis ends and the canary is ready.',
    ),
    threshold: described(z._default(int(1, 100), 3), 'Failed checks before the canary is rolled back to 0.'),
    minSuccessPercent: described(
      z._default(z.number().check(...between(0, 100)), 99),
      'Lowest share of non-5xx canary responses, percent.',
    ),
    maxP95LatencyMs: described(z._default(int(1, 60_000), 500), 'Highest p95 canary latency, milliseconds.'),
    promote: described(
      z._default(z.enum(['manual', 'auto'], { error: 'must be "manual" or "auto"' }), 'manual'),
      'auto: the reconciler promotes a canary that passed; manual: `tandem promote` does.',
    ),
  }),
  'Progressive delivery: the reconciler moves the weight while the canary stays healthy.',
);

const CanarySchema = described(
  z
    .strictObject({
      tag: described(
        z
          .string()
          .check(z.regex(IMAGE_TAG, 'must be an image tag: letters, digits, _ . -, at most 128 characters')),
        'Image tag of the canary, from the same repository as the stable image.',
      ),
      weight: described(
        z._default(whole('must be a whole number of percent', ...between(0, 100)), 0),
        'Percent of requests the canary serves (0–100); with analysis, leave it 0.',
      ),
      analysis: z.optional(AnalysisSchema),
    })
    .check(
      z.superRefine((canary, ctx) => {
        if (canary.analysis !== undefined && canary.weight !== 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['weight'],
            message: 'must be 0 (or left out) with analysis: the analysis moves the weight',
          });
        }
        if (canary.analysis !== undefined && canary.analysis.stepWeight > canary.analysis.maxWeight) {
          ctx.addIssue({
            code: 'custom',
            path: ['analysis', 'stepWeight'],
            message: 'must not exceed analysis.maxWeight',
          });
        }
      }),
    ),
  'A second image that receives a share of the traffic. Remove it to drain the canary.',
);

const RegionSchema = z.strictObject({
  name: z.enum(AWS_REGIONS, { error: 'must be an AWS region where tandem can run, such as us-east-1' }),
  role: z.enum(['primary', 'failover'], { error: 'must be "primary" or "failover"' }),
  minTasks: described(
    z._default(
      whole(
        'must be a whole number',
        z.minimum(0, 'must be at least 0'),
        z.maximum(1000, 'must be at most 1000'),
      ),
      1,
    ),
    'Fewest tasks (stable plus canary) this region runs.',
  ),
  maxTasks: described(
    z._default(
      whole(
        'must be a whole number',
        z.minimum(1, 'must be at least 1'),
        z.maximum(1000, 'must be at most 1000'),
      ),
      10,
    ),
    'Most tasks (stable plus canary) this region runs.',
  ),
});

const TaskSchema = z
  .strictObject({
    cpu: described(
      z._default(
        z.literal(FARGATE_CPU, { error: `must be a Fargate CPU size: ${FARGATE_CPU.join(', ')}` }),
        256,
      ),
      'CPU units per task (a Fargate size).',
    ),
    memory: described(z._default(whole('must be a whole number of MiB'), 512), 'Memory per task, MiB.'),
    containerPort: z._default(
      whole('must be a whole number', ...between(1, 65535, 'must be a port between 1 and 65535')),
      8080,
    ),
    healthCheckPath: z._default(
      z
        .string()
        .check(z.regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,1023}$/, 'must be a URL path starting with /')),
      '/healthz',
    ),
    environment: z._default(
      z
        .record(
          z.string().check(
            z.regex(ENV_NAME, 'must be a variable name: letters, digits and _, not starting with a digit'),
            z.refine(
              (name) => !name.startsWith('TANDEM_'),
              'TANDEM_ names are set by tandem; choose another',
            ),
          ),
          z.string().check(z.maxLength(4096, 'must be at most 4096 characters')),
        )
        .check(z.refine((env) => Object.keys(env).length <= 50, 'must hold at most 50 variables')),
      {},
    ),
  })
  .check(
    z.superRefine((task, ctx) => {
      if (!isFargatePair(task.cpu, task.memory)) {
        ctx.addIssue({
          code: 'custom',
          path: ['memory'],
          message: `is not a Fargate size for cpu ${task.cpu}; use ${describeFargateMemory(task.cpu)}`,
        });
      }
    }),
  );

const ScalingSchema = z.strictObject({
  targetRequestsPerTaskPerMinute: described(
    z._default(
      whole(
        'must be a whole number',
        z.minimum(1, 'must be at least 1'),
        z.maximum(1_000_000, 'must be at most 1000000'),
      ),
      600,
    ),
    'Requests per task per minute the autoscaler aims for.',
  ),
  targetCpuPercent: described(
    z._default(whole('must be a whole number', ...between(10, 95)), 70),
    'Average CPU utilization the autoscaler aims for.',
  ),
  tolerance: described(
    z._default(z.number().check(...between(0, 0.5)), 0.1),
    'Relative deviation from the target within which no scaling happens.',
  ),
  scaleInStabilizationSeconds: described(
    z._default(whole('must be a whole number of seconds', ...between(0, 3600)), 300),
    'How long the highest recommendation holds before tasks are removed.',
  ),
  failoverErrorPercent: described(
    z._default(z.number().check(...between(1, 100)), 50),
    'Share of 5xx responses above which a region counts as failing and the others take its demand.',
  ),
  maxScaleOutStep: described(
    z._default(
      whole(
        'must be a whole number',
        z.minimum(1, 'must be at least 1'),
        z.maximum(1000, 'must be at most 1000'),
      ),
      1000,
    ),
    'Most tasks added to a region in one pass.',
  ),
});

const CdnSchema = z
  .strictObject({
    aliases: z._default(
      z
        .array(z.string().check(z.regex(DNS_NAME, 'must be a lowercase DNS name such as www.example.com')))
        .check(z.maxLength(10, 'must list at most 10 aliases')),
      [],
    ),
    certificateArn: z.optional(
      z
        .string()
        .check(
          z.regex(
            ACM_CERTIFICATE_ARN,
            'must be an ACM certificate ARN in us-east-1 (CloudFront only uses those)',
          ),
        ),
    ),
    priceClass: z._default(
      z.enum(['PriceClass_100', 'PriceClass_200', 'PriceClass_All'], {
        error: 'must be PriceClass_100, PriceClass_200 or PriceClass_All',
      }),
      'PriceClass_100',
    ),
    failoverStatusCodes: z._default(
      z
        .array(
          z.literal(CLOUDFRONT_FAILOVER_CODES, {
            error: `must be a status code CloudFront fails over on: ${CLOUDFRONT_FAILOVER_CODES.join(', ')}`,
          }),
        )
        .check(
          z.minLength(1, 'must name at least one status code'),
          z.refine((codes) => new Set(codes).size === codes.length, 'must not repeat a status code'),
        ),
      [500, 502, 503, 504],
    ),
    connectionTimeoutSeconds: z._default(
      whole('must be a whole number of seconds', ...between(1, 10, 'must be between 1 and 10 seconds')),
      5,
    ),
    connectionAttempts: z._default(whole('must be a whole number', ...between(1, 3)), 2),
    defaultTtlSeconds: z._default(whole('must be a whole number of seconds', ...between(0, 31_536_000)), 60),
  })
  .check(
    z.superRefine((cdn, ctx) => {
      if (cdn.aliases.length > 0 && cdn.certificateArn === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificateArn'],
          message: 'is required when aliases are set: CloudFront needs a certificate covering them',
        });
      }
    }),
  );

const SiteSpecBody = z
  .strictObject({
    image: ImageSchema,
    canary: z.optional(CanarySchema),
    regions: z
      .array(RegionSchema)
      .check(z.minLength(1, 'must list at least one region'), z.maxLength(8, 'must list at most 8 regions')),
    task: z._default(TaskSchema, () => TaskSchema.parse({})),
    scaling: z._default(ScalingSchema, () => ScalingSchema.parse({})),
    cdn: z._default(CdnSchema, () => CdnSchema.parse({})),
    paused: described(
      z._default(z.boolean(), false),
      'When true the reconciler observes and reports but changes nothing.',
    ),
  })
  .check(
    z.superRefine((spec, ctx) => {
      const primaries = spec.regions.filter((r) => r.role === 'primary');
      if (primaries.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions'],
          message: `must have exactly one region with role "primary" (found ${primaries.length})`,
        });
      }
      const seen = new Set<string>();
      spec.regions.forEach((region, i) => {
        if (seen.has(region.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['regions', i, 'name'],
            message: `repeats region ${region.name}`,
          });
        }
        seen.add(region.name);
        if (region.minTasks > region.maxTasks) {
          ctx.addIssue({
            code: 'custom',
            path: ['regions', i, 'minTasks'],
            message: `(${region.minTasks}) must not exceed maxTasks (${region.maxTasks})`,
          });
        }
        if (region.role === 'primary' && region.minTasks < 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['regions', i, 'minTasks'],
            message: 'must be at least 1 in the primary region, which serves all traffic',
          });
        }
      });
      if (spec.canary !== undefined && spec.canary.tag === spec.image.tag) {
        ctx.addIssue({
          code: 'custom',
          path: ['canary', 'tag'],
          message: `is the stable tag ${spec.image.tag}; promote it by changing image.tag, or use another tag`,
        });
      }
    }),
  );

export const SiteSchema = z.strictObject({
  $schema: described(z.optional(z.string()), 'Path or URL of this JSON Schema, for editors.'),
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal('Site', { error: 'must be "Site"' }),
  metadata: z.strictObject({
    name: z
      .string()
      .check(
        z.regex(
          SITE_NAME,
          'must be 2–24 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen',
        ),
      ),
  }),
  spec: SiteSpecBody,
});

/** A spec as a person writes it: optional fields may be left out. */
export type SiteInput = z.input<typeof SiteSchema>;
/** A validated spec with every default filled in. */
export type Site = z.output<typeof SiteSchema>;
export type SiteSpec = Site['spec'];
export type RegionSpec = SiteSpec['regions'][number];
