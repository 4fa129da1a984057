import { z } from 'zod';
import { describeFargateMemory, FARGATE_CPU, isFargatePair } from './fargate.ts';
import { AWS_REGIONS } from './regions.ts';

/**
 * The site spec: the one source of truth for what a spec may say and what it
 * defaults to. `specs/site.schema.json` is generated from it (`npm run schema`).
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

const ImageSchema = z
  .strictObject({
    repository: z
      .string()
      .max(255, 'must be at most 255 characters')
      .regex(IMAGE_REPOSITORY, 'must be an image repository such as public.ecr.aws/acme/site'),
    tag: z.string().regex(IMAGE_TAG, 'must be an image tag: letters, digits, _ . -, at most 128 characters'),
  })
  .describe('The stable image every region runs.');

const int = (min: number, max: number, unit = '') =>
  z
    .number()
    .int(`must be a whole number${unit}`)
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`);

const AnalysisSchema = z
  .strictObject({
    intervalSeconds: int(10, 3600, ' of seconds').default(60).describe('Seconds between checks.'),
    stepWeight: int(1, 100)
      .default(10)
      .describe('Percent added to the canary weight after each passing check.'),
    maxWeight: int(1, 100).default(50).describe('Weight at which the analysis ends and the canary is ready.'),
    threshold: int(1, 100).default(3).describe('Failed checks before the canary is rolled back to 0.'),
    minSuccessPercent: z
      .number()
      .min(0, 'must be between 0 and 100')
      .max(100, 'must be between 0 and 100')
      .default(99)
      .describe('Lowest share of non-5xx canary responses, percent.'),
    maxP95LatencyMs: int(1, 60_000).default(500).describe('Highest p95 canary latency, milliseconds.'),
    promote: z
      .enum(['manual', 'auto'], { error: 'must be "manual" or "auto"' })
      .default('manual')
      .describe('auto: the reconciler promotes a canary that passed; manual: `tandem promote` does.'),
  })
  .describe('Progressive delivery: the reconciler moves the weight while the canary stays healthy.');

const CanarySchema = z
  .strictObject({
    tag: z
      .string()
      .regex(IMAGE_TAG, 'must be an image tag: letters, digits, _ . -, at most 128 characters')
      .describe('Image tag of the canary, from the same repository as the stable image.'),
    weight: z
      .number()
      .int('must be a whole number of percent')
      .min(0, 'must be between 0 and 100')
      .max(100, 'must be between 0 and 100')
      .default(0)
      .describe('Percent of requests the canary serves (0–100); with analysis, leave it 0.'),
    analysis: AnalysisSchema.optional(),
  })
  .superRefine((canary, ctx) => {
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
  })
  .describe('A second image that receives a share of the traffic. Remove it to drain the canary.');

const RegionSchema = z.strictObject({
  name: z.enum(AWS_REGIONS, { error: 'must be an AWS region where tandem can run, such as us-east-1' }),
  role: z.enum(['primary', 'failover'], { error: 'must be "primary" or "failover"' }),
  minTasks: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be at least 0')
    .max(1000, 'must be at most 1000')
    .default(1)
    .describe('Fewest tasks (stable plus canary) this region runs.'),
  maxTasks: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10)
    .describe('Most tasks (stable plus canary) this region runs.'),
});

const TaskSchema = z
  .strictObject({
    cpu: z
      .literal(FARGATE_CPU, { error: `must be a Fargate CPU size: ${FARGATE_CPU.join(', ')}` })
      .default(256)
      .describe('CPU units per task (a Fargate size).'),
    memory: z.number().int('must be a whole number of MiB').default(512).describe('Memory per task, MiB.'),
    containerPort: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be a port between 1 and 65535')
      .max(65535, 'must be a port between 1 and 65535')
      .default(8080),
    healthCheckPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,1023}$/, 'must be a URL path starting with /')
      .default('/healthz'),
    environment: z
      .record(
        z
          .string()
          .regex(ENV_NAME, 'must be a variable name: letters, digits and _, not starting with a digit')
          .refine((name) => !name.startsWith('TANDEM_'), 'TANDEM_ names are set by tandem; choose another'),
        z.string().max(4096, 'must be at most 4096 characters'),
      )
      .refine((env) => Object.keys(env).length <= 50, 'must hold at most 50 variables')
      .default({}),
  })
  .superRefine((task, ctx) => {
    if (!isFargatePair(task.cpu, task.memory)) {
      ctx.addIssue({
        code: 'custom',
        path: ['memory'],
        message: `is not a Fargate size for cpu ${task.cpu}; use ${describeFargateMemory(task.cpu)}`,
      });
    }
  });

const ScalingSchema = z.strictObject({
  targetRequestsPerTaskPerMinute: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1_000_000, 'must be at most 1000000')
    .default(600)
    .describe('Requests per task per minute the autoscaler aims for.'),
  targetCpuPercent: z
    .number()
    .int('must be a whole number')
    .min(10, 'must be between 10 and 95')
    .max(95, 'must be between 10 and 95')
    .default(70)
    .describe('Average CPU utilization the autoscaler aims for.'),
  tolerance: z
    .number()
    .min(0, 'must be between 0 and 0.5')
    .max(0.5, 'must be between 0 and 0.5')
    .default(0.1)
    .describe('Relative deviation from the target within which no scaling happens.'),
  scaleInStabilizationSeconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(0, 'must be between 0 and 3600')
    .max(3600, 'must be between 0 and 3600')
    .default(300)
    .describe('How long the highest recommendation holds before tasks are removed.'),
  failoverErrorPercent: z
    .number()
    .min(1, 'must be between 1 and 100')
    .max(100, 'must be between 1 and 100')
    .default(50)
    .describe(
      'Share of 5xx responses above which a region counts as failing and the others take its demand.',
    ),
  maxScaleOutStep: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10)
    .describe('Most tasks added to a region in one pass.'),
});

const CdnSchema = z
  .strictObject({
    aliases: z
      .array(z.string().regex(DNS_NAME, 'must be a lowercase DNS name such as www.example.com'))
      .max(10, 'must list at most 10 aliases')
      .default([]),
    certificateArn: z
      .string()
      .regex(ACM_CERTIFICATE_ARN, 'must be an ACM certificate ARN in us-east-1 (CloudFront only uses those)')
      .optional(),
    priceClass: z
      .enum(['PriceClass_100', 'PriceClass_200', 'PriceClass_All'], {
        error: 'must be PriceClass_100, PriceClass_200 or PriceClass_All',
      })
      .default('PriceClass_100'),
    failoverStatusCodes: z
      .array(
        z.literal(CLOUDFRONT_FAILOVER_CODES, {
          error: `must be a status code CloudFront fails over on: ${CLOUDFRONT_FAILOVER_CODES.join(', ')}`,
        }),
      )
      .min(1, 'must name at least one status code')
      .refine((codes) => new Set(codes).size === codes.length, 'must not repeat a status code')
      .default([500, 502, 503, 504]),
    connectionTimeoutSeconds: z
      .number()
      .int('must be a whole number of seconds')
      .min(1, 'must be between 1 and 10 seconds')
      .max(10, 'must be between 1 and 10 seconds')
      .default(5),
    connectionAttempts: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be between 1 and 3')
      .max(3, 'must be between 1 and 3')
      .default(2),
    defaultTtlSeconds: z
      .number()
      .int('must be a whole number of seconds')
      .min(0, 'must be between 0 and 31536000')
      .max(31_536_000, 'must be between 0 and 31536000')
      .default(60),
  })
  .superRefine((cdn, ctx) => {
    if (cdn.aliases.length > 0 && cdn.certificateArn === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['certificateArn'],
        message: 'is required when aliases are set: CloudFront needs a certificate covering them',
      });
    }
  });

const SiteSpecBody = z
  .strictObject({
    image: ImageSchema,
    canary: CanarySchema.optional(),
    regions: z
      .array(RegionSchema)
      .min(1, 'must list at least one region')
      .max(8, 'must list at most 8 regions'),
    task: TaskSchema.default(() => TaskSchema.parse({})),
    scaling: ScalingSchema.default(() => ScalingSchema.parse({})),
    cdn: CdnSchema.default(() => CdnSchema.parse({})),
    paused: z
      .boolean()
      .default(false)
      .describe('When true the reconciler observes and reports but changes nothing.'),
  })
  .superRefine((spec, ctx) => {
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
  });

export const SiteSchema = z.strictObject({
  $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal('Site', { error: 'must be "Site"' }),
  metadata: z.strictObject({
    name: z
      .string()
      .regex(
        SITE_NAME,
        'must be 2–24 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen',
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
