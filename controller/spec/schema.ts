import * as v from 'valibot';
import { parseCron } from './cron.ts';
import { describeFargateMemory, FARGATE_CPU, isFargatePair } from './fargate.ts';
import { AWS_REGIONS } from './regions.ts';
import { nearest } from './nearest.ts';
import { printable } from './printable.ts';
import { everyKey, objectOnly } from './valibot.ts';

/**
 * The site spec: the one source of truth for what a spec may say and what it
 * defaults to. `specs/site.schema.json` is generated from it (`npm run schema`).
 *
 * Written with valibot: its schemas are plain objects, cheap to build when the
 * reconciler Lambda starts (see docs/performance.md, coldstart), and esbuild
 * keeps only the functions used.
 */

export const API_VERSION = 'tandem.dev/v1';

/** Status codes CloudFront accepts as origin-group failover criteria. */
export const CLOUDFRONT_FAILOVER_CODES = [400, 403, 404, 416, 500, 502, 503, 504] as const;

/**
 * Site names become parts of AWS resource names (controller/model/naming.ts);
 * the tightest is the target group `<site>-stable` / `<site>-canary`: ALB
 * allows 32 characters, so a site name has at most 32 - 7 = 25.
 */
export const MAX_SITE_NAME = 25;
const SITE_NAME = new RegExp(`^[a-z][a-z0-9-]{0,${MAX_SITE_NAME - 2}}[a-z0-9]$`);
/** ECS's limit on a container's image reference, `<repository>:<tag>` together. */
export const MAX_IMAGE_REFERENCE = 255;
/** DNS's limit on a name, in its text form without the final dot (RFC 1035). */
const MAX_DNS_NAME = 253;
const IMAGE_REPOSITORY =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Control characters but tab and line breaks: NUL cannot reach a process's environment, the rest only garble. */
const CONTROL = /(?![\t\n\r])\p{Cc}/u;
const DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_CERTIFICATE_ARN = /^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;

/** The largest spec document accepted, serialized as JSON. */
export const MAX_SPEC_BYTES = 16 * 1024;
/** The deepest a spec may nest objects and arrays; a valid one needs 4 (spec.canary.analysis). */
export const MAX_SPEC_DEPTH = 32;

/** A schema with a description, for the generated JSON Schema. */
const described = <T extends v.GenericSchema>(schema: T, description: string) =>
  v.pipe(schema, v.description(description));

/**
 * An object that rejects fields it does not know. valibot reports the first
 * unknown field; the message names them all, escaped, each with the known
 * field it is nearest to, so one edit fixes every one. The problem is about
 * the object: `validateSite` reports it there.
 */
function strict<const E extends v.ObjectEntries>(entries: E) {
  const known = Object.keys(entries);
  return objectOnly(
    v.strictObject(entries, (issue) => {
      const object = issue.path?.[0]?.input;
      if (issue.expected !== 'never' || object === null || typeof object !== 'object') return issue.message;
      const unknown = Object.keys(object)
        .filter((key) => !Object.hasOwn(entries, key))
        .map((key) => {
          const meant = nearest(key, known);
          return meant === undefined ? printable(key) : `${printable(key)} (did you mean ${meant}?)`;
        });
      const many = unknown.length > 1;
      return `has unknown field${many ? 's' : ''} ${unknown.join(', ')}: remove or rename ${many ? 'them' : 'it'}`;
    }),
  );
}

/** Whether a field, by its keys inside an object, has its type and passed its own checks. */
type Known = (...keys: PropertyKey[]) => boolean;
/** Reports a problem about the field at `keys` inside the object. */
type Report = (keys: readonly PropertyKey[], message: string) => void;

/**
 * A rule across the fields of an object. It runs even when other fields of
 * the object have problems, so one run reports every problem; `known` says
 * which fields it may read (the value is the object as validated so far:
 * a field with a problem holds what the document gave). `report` names the
 * field a problem is about, relative to the object.
 */
function rule<T>(check: (value: T, known: Known, report: Report) => void) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const value: unknown = dataset.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const issues = dataset.issues ?? [];
    const known: Known = (...keys) => holds(value, keys) && !issues.some((issue) => blocks(issue, keys));
    check(value as T, known, (keys, message) => addIssue({ message, path: issuePath(value, keys) }));
  });
}

/** Whether each key leads into an object or array that has it. */
function holds(value: unknown, keys: readonly PropertyKey[]): boolean {
  let at = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return false;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return true;
}

/** An issue about the field or inside it, or about what holds the field being of the wrong type. */
function blocks(issue: v.BaseIssue<unknown>, keys: readonly PropertyKey[]): boolean {
  const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
  const common = Math.min(path.length, keys.length);
  for (let i = 0; i < common; i += 1) if (path[i] !== keys[i]) return false;
  return path.length >= keys.length || issue.kind === 'schema';
}

/** valibot's issue path for `keys` inside `value`: each step with the value it leads to. */
function issuePath(value: unknown, keys: readonly PropertyKey[]): [v.IssuePathItem, ...v.IssuePathItem[]] {
  let input = value;
  const items = keys.map((key): v.IssuePathItem => {
    const container = input as Record<PropertyKey, unknown>;
    input = container[key];
    return typeof key === 'number'
      ? { type: 'array', origin: 'value', input: container as unknown as unknown[], key, value: input }
      : { type: 'object', origin: 'value', input: container, key: String(key), value: input };
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}

/**
 * A whole number: its type checked first, then that it is whole, then each
 * bound (every bound is far below 2^53, so a whole number too large to be
 * exact is too large, not "not a whole number").
 */
const whole = (message: string, ...bounds: v.GenericValidation<number>[]) =>
  v.pipe(v.number(), v.integer(message), ...bounds);
const between = (min: number, max: number, message = `must be between ${min} and ${max}`) =>
  [
    v.minValue<number, number, string>(min, message),
    v.maxValue<number, number, string>(max, message),
  ] as const;

const int = (min: number, max: number, unit = '') =>
  whole(`must be a whole number${unit}`, ...between(min, max));

/** A number of tasks in a region: from `min` to 1000. */
const tasks = (min: number) =>
  whole(
    'must be a whole number',
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(1000, 'must be at most 1000'),
  );

const imageTag = v.pipe(
  v.string(),
  v.regex(IMAGE_TAG, 'must be an image tag: letters, digits, _ . -, at most 128 characters'),
);

const ImageSchema = described(
  v.pipe(
    strict({
      repository: v.pipe(
        v.string(),
        v.maxLength(255, 'must be at most 255 characters'),
        v.regex(IMAGE_REPOSITORY, 'must be an image repository such as public.ecr.aws/acme/site'),
      ),
      tag: imageTag,
    }),
    rule((image, known, report) => {
      if (!known('repository') || !known('tag')) return;
      const length = image.repository.length + 1 + image.tag.length;
      if (length > MAX_IMAGE_REFERENCE) {
        report(
          [],
          `makes an image reference (repository:tag) of ${length} characters; ECS allows at most ${MAX_IMAGE_REFERENCE}`,
        );
      }
    }),
  ),
  'The stable image every region runs.',
);

const AnalysisSchema = described(
  strict({
    intervalSeconds: v.optional(described(int(10, 3600, ' of seconds'), 'Seconds between checks.'), 60),
    stepWeight: v.optional(
      described(int(1, 100), 'Percent added to the canary weight after each passing check.'),
      10,
    ),
    maxWeight: v.optional(
      described(int(1, 100), 'Weight at which the analysis ends and the canary is ready.'),
      50,
    ),
    threshold: v.optional(described(int(1, 100), 'Failed checks before the canary is rolled back to 0.'), 3),
    minSuccessPercent: v.optional(
      described(v.pipe(v.number(), ...between(0, 100)), 'Lowest share of non-5xx canary responses, percent.'),
      99,
    ),
    maxP95LatencyMs: v.optional(described(int(1, 60_000), 'Highest p95 canary latency, milliseconds.'), 500),
    promote: v.optional(
      described(
        v.picklist(['manual', 'auto'], 'must be "manual" or "auto"'),
        'auto: the reconciler promotes a canary that passed; manual: `tandem promote` does.',
      ),
      'manual',
    ),
  }),
  'Progressive delivery: the reconciler moves the weight while the canary stays healthy.',
);

const CanarySchema = described(
  v.pipe(
    strict({
      tag: described(imageTag, 'Image tag of the canary, from the same repository as the stable image.'),
      weight: v.optional(
        described(
          whole('must be a whole number of percent', ...between(0, 100)),
          'Percent of requests the canary serves (0–100); with analysis, leave it 0.',
        ),
        0,
      ),
      analysis: v.optional(AnalysisSchema),
    }),
    rule((canary, known, report) => {
      // Analysis given, right or wrong, is analysis asked for.
      if (canary.analysis !== undefined && known('weight') && canary.weight !== 0) {
        report(['weight'], 'must be 0 (or left out) with analysis: the analysis moves the weight');
      }
      if (
        known('analysis', 'stepWeight') &&
        known('analysis', 'maxWeight') &&
        canary.analysis!.stepWeight > canary.analysis!.maxWeight
      ) {
        report(['analysis', 'stepWeight'], 'must not exceed analysis.maxWeight');
      }
    }),
  ),
  'A second image that receives a share of the traffic. Remove it to drain the canary.',
);

const RegionSchema = strict({
  name: v.picklist(AWS_REGIONS, 'must be an AWS region where tandem can run, such as us-east-1'),
  role: v.picklist(['primary', 'failover'], 'must be "primary" or "failover"'),
  minTasks: v.optional(described(tasks(0), 'Fewest tasks (stable plus canary) this region runs.'), 1),
  maxTasks: v.optional(
    described(tasks(1), 'Most tasks (stable plus canary) this region runs; at least 2 with a canary.'),
    10,
  ),
});

/** Fargate's CPU architectures (ECS runtimePlatform.cpuArchitecture). */
export const TASK_ARCHITECTURES = ['X86_64', 'ARM64'] as const;

const TaskSchema = v.pipe(
  strict({
    cpu: v.optional(
      described(
        v.picklist(FARGATE_CPU, `must be a Fargate CPU size: ${FARGATE_CPU.join(', ')}`),
        'CPU units per task (a Fargate size).',
      ),
      256,
    ),
    memory: v.optional(described(whole('must be a whole number of MiB'), 'Memory per task, MiB.'), 512),
    architecture: v.optional(
      described(
        v.picklist(TASK_ARCHITECTURES, 'must be "X86_64" or "ARM64"'),
        'CPU architecture the image is built for: X86_64, or ARM64 for Graviton (about 20 % cheaper on Fargate).',
      ),
      'X86_64',
    ),
    containerPort: v.optional(
      whole('must be a whole number', ...between(1, 65535, 'must be a port between 1 and 65535')),
      8080,
    ),
    healthCheckPath: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,1023}$/, 'must be a URL path starting with /'),
      ),
      '/healthz',
    ),
    healthCheckCommand: v.optional(
      described(
        v.pipe(
          v.array(v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(1024))),
          v.minLength(2, 'must be "CMD" or "CMD-SHELL" followed by the command'),
          v.maxLength(20, 'must have at most 20 items'),
          v.check(
            (command) => command[0] === 'CMD' || command[0] === 'CMD-SHELL',
            'must start with "CMD" or "CMD-SHELL"',
          ),
        ),
        'The container health check ECS runs in each task, e.g. ["CMD", "node", "healthcheck.mjs"]: ECS ignores a Dockerfile\'s HEALTHCHECK. The command must exist in the image. Default none: the load balancer\'s check of healthCheckPath alone decides.',
      ),
    ),
    readOnlyRootFilesystem: v.optional(
      described(
        v.boolean('must be true or false'),
        "The container's root filesystem is read-only, with /tmp a writable scratch volume (the task's ephemeral storage). false for an image that writes elsewhere.",
      ),
      true,
    ),
    environment: v.optional(
      v.pipe(
        objectOnly(
          everyKey(
            v.record(
              v.pipe(
                v.string(),
                v.regex(
                  ENV_NAME,
                  'must be a variable name: letters, digits and _, not starting with a digit',
                ),
                v.check(
                  (name) => !name.startsWith('TANDEM_'),
                  'TANDEM_ names are set by tandem; choose another',
                ),
              ),
              v.pipe(
                v.string(),
                v.maxLength(4096, 'must be at most 4096 characters'),
                v.check(
                  (value) => !CONTROL.test(value),
                  (issue) => {
                    const value = issue.input as string;
                    const at = value.search(CONTROL);
                    return `holds the control character ${printable(value[at]!)} at character ${[...value.slice(0, at)].length + 1}; only tab and line breaks may be in a value`;
                  },
                ),
              ),
            ),
            'is a name tandem cannot pass on (constructor, __proto__ and prototype are reserved): choose another',
          ),
        ),
        v.check((env) => Object.keys(env).length <= 50, 'must hold at most 50 variables'),
      ),
      {},
    ),
  }),
  rule((task, known, report) => {
    if (known('cpu') && known('memory') && !isFargatePair(task.cpu, task.memory)) {
      report(['memory'], `is not a Fargate size for cpu ${task.cpu}; use ${describeFargateMemory(task.cpu)}`);
    }
  }),
);

/** An ISO 8601 time with its offset: Z or ±hh:mm, never a local time. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const ISO_LOCAL = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;
/** Most windows a schedule may list. */
export const MAX_SCHEDULE_WINDOWS = 20;
/** Longest window: a week. */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;

const ScheduleWindowSchema = v.pipe(
  strict({
    name: v.optional(
      described(
        v.pipe(
          v.string(),
          v.regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'must be 1–63 letters, digits, spaces, . _ or -'),
        ),
        'What the window is for (a launch, a newsletter), shown in describe.',
      ),
    ),
    cron: v.optional(
      described(
        v.pipe(
          v.string(),
          v.rawCheck(({ dataset, addIssue }) => {
            if (!dataset.typed) return;
            const parsed = parseCron(dataset.value);
            // One message for the expression, naming every cron field at fault.
            if (!parsed.ok) addIssue({ message: parsed.errors.join('; ') });
          }),
        ),
        'When each window starts, as a five-field cron expression in UTC (minute hour day-of-month month day-of-week), e.g. "0 9 * * MON-FRI". Give cron or start.',
      ),
    ),
    start: v.optional(
      described(
        v.pipe(
          v.string(),
          v.check(
            (text) => !ISO_LOCAL.test(text),
            'has no offset: end it with Z for UTC or ±hh:mm (e.g. 2026-12-24T18:00:00+01:00); local times and time zone names are refused',
          ),
          v.check(
            (text) =>
              ISO_LOCAL.test(text) || (ISO_WITH_OFFSET.test(text) && Number.isFinite(Date.parse(text))),
            'must be an ISO 8601 time with an offset, such as 2026-12-24T18:00:00Z or 2026-12-24T18:00:00+01:00',
          ),
        ),
        'When the one window starts: an ISO 8601 time with an explicit offset (Z or ±hh:mm). Give cron or start.',
      ),
    ),
    timeZone: v.optional(
      described(
        v.literal(
          'UTC',
          'must be "UTC": a schedule is in UTC, or carries its offset in start; time zone names are refused (daylight saving would move the window)',
        ),
        'Only "UTC", the zone every schedule is in; for a local time use start with its offset.',
      ),
    ),
    durationMinutes: described(int(1, MAX_WINDOW_MINUTES, ' of minutes'), 'How long each window lasts.'),
    minTasks: described(
      v.pipe(
        v.record(v.string(), tasks(0)),
        v.check((floors) => Object.keys(floors).length > 0, 'must name at least one region'),
      ),
      "Tasks each named region runs at least while the window lasts, within the region's minTasks and maxTasks.",
    ),
  }),
  rule((window, _known, report) => {
    const has = (key: string) => Object.hasOwn(window, key);
    if (has('cron') && has('start'))
      report(['start'], 'must not be given with cron: a window has one or the other');
    if (!has('cron') && !has('start')) report([], 'needs cron (a repeating window) or start (a single one)');
  }),
);

const ScalingSchema = strict({
  targetRequestsPerTaskPerMinute: v.optional(
    described(
      whole(
        'must be a whole number',
        v.minValue(1, 'must be at least 1'),
        v.maxValue(1_000_000, 'must be at most 1000000'),
      ),
      'Requests per task per minute the autoscaler aims for.',
    ),
    600,
  ),
  targetCpuPercent: v.optional(
    described(
      whole('must be a whole number', ...between(10, 95)),
      'Average CPU utilization the autoscaler aims for.',
    ),
    70,
  ),
  tolerance: v.optional(
    described(
      v.pipe(v.number(), ...between(0, 0.5)),
      'Relative deviation from the target within which no scaling happens.',
    ),
    0.1,
  ),
  scaleInStabilizationSeconds: v.optional(
    described(
      whole('must be a whole number of seconds', ...between(0, 3600)),
      'How long the highest recommendation holds before tasks are removed.',
    ),
    300,
  ),
  failoverErrorPercent: v.optional(
    described(
      v.pipe(v.number(), ...between(1, 100)),
      'Share of 5xx responses above which a region counts as failing and the others take its demand.',
    ),
    50,
  ),
  maxScaleOutStep: v.optional(described(tasks(1), 'Most tasks added to a region in one pass.'), 1000),
  standbyPercent: v.optional(
    described(
      whole('must be a whole number of percent', ...between(0, 100)),
      "Warm standby: the CDN's failover region keeps at least this share of the primary's demand ready, for the first minutes after the primary is lost. 0 keeps it at minTasks.",
    ),
    0,
  ),
  schedule: v.optional(
    described(
      v.pipe(
        v.array(ScheduleWindowSchema),
        v.maxLength(MAX_SCHEDULE_WINDOWS, `must list at most ${MAX_SCHEDULE_WINDOWS} windows`),
      ),
      'Declared events: windows in which a region keeps at least some tasks, for load a person knows is coming. Overlapping windows take the highest floor.',
    ),
  ),
});

const CdnSchema = v.pipe(
  strict({
    aliases: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.string(),
            v.regex(DNS_NAME, 'must be a lowercase DNS name such as www.example.com'),
            v.maxLength(MAX_DNS_NAME, `must be at most ${MAX_DNS_NAME} characters, DNS's limit for a name`),
          ),
        ),
        v.maxLength(10, 'must list at most 10 aliases'),
      ),
      [],
    ),
    certificateArn: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          ACM_CERTIFICATE_ARN,
          'must be an ACM certificate ARN in us-east-1 (CloudFront only uses those)',
        ),
      ),
    ),
    priceClass: v.optional(
      v.picklist(
        ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'],
        'must be PriceClass_100, PriceClass_200 or PriceClass_All',
      ),
      'PriceClass_100',
    ),
    failoverStatusCodes: v.optional(
      v.pipe(
        v.array(
          v.picklist(
            CLOUDFRONT_FAILOVER_CODES,
            `must be a status code CloudFront fails over on: ${CLOUDFRONT_FAILOVER_CODES.join(', ')}`,
          ),
        ),
        v.minLength(1, 'must name at least one status code'),
        v.check((codes) => new Set(codes).size === codes.length, 'must not repeat a status code'),
      ),
      // 403 too: a primary whose listener rules are gone (deleted, or a listener replaced) answers
      // 403 from the listener's default action, and failing over keeps the site up.
      [403, 500, 502, 503, 504],
    ),
    // Chosen for failover (README, "When a region hangs"): a primary that drops packets costs a viewer
    // one 2 s attempt before CloudFront asks the other region, and one lost SYN (retransmitted after
    // 1 s) still connects in time. CloudFront's own defaults (10 s, 3 attempts) would cost 30 s.
    connectionTimeoutSeconds: v.optional(
      whole('must be a whole number of seconds', ...between(1, 10, 'must be between 1 and 10 seconds')),
      2,
    ),
    connectionAttempts: v.optional(whole('must be a whole number', ...between(1, 3)), 1),
    // How long CloudFront waits for an answer once connected (OriginReadTimeout): a primary that
    // accepts connections and never answers costs this much per request. Long enough for a slow
    // page; CloudFront's default is 30 s. 1–60 (more needs a quota increase).
    responseTimeoutSeconds: v.optional(
      whole('must be a whole number of seconds', ...between(1, 60, 'must be between 1 and 60 seconds')),
      10,
    ),
    defaultTtlSeconds: v.optional(whole('must be a whole number of seconds', ...between(0, 31_536_000)), 60),
  }),
  rule((cdn, _known, report) => {
    // Aliases given, right or wrong, need a certificate; one given but wrong has its own problem.
    if (Array.isArray(cdn.aliases) && cdn.aliases.length > 0 && cdn.certificateArn === undefined) {
      report(
        ['certificateArn'],
        'is required when aliases are set: CloudFront needs a certificate covering them',
      );
    }
  }),
);

const SiteSpecBody = v.pipe(
  strict({
    image: ImageSchema,
    canary: v.optional(CanarySchema),
    regions: v.pipe(
      v.array(RegionSchema),
      v.minLength(1, 'must list at least one region'),
      v.maxLength(8, 'must list at most 8 regions'),
    ),
    // An object left out is validated as `{}`, which fills in each of its defaults.
    task: v.optional(TaskSchema, {}),
    scaling: v.optional(ScalingSchema, {}),
    cdn: v.optional(CdnSchema, {}),
    paused: v.optional(
      described(v.boolean(), 'When true the reconciler observes and reports but changes nothing.'),
      false,
    ),
  }),
  rule((spec, known, report) => {
    const regions = Array.isArray(spec.regions) ? spec.regions : [];
    // Exactly one primary: too many is certain, none only when every role is known.
    const roles = regions.map((region, i) => (known('regions', i, 'role') ? region.role : undefined));
    const primaries = roles.filter((role) => role === 'primary').length;
    if (primaries > 1 || (primaries === 0 && !roles.includes(undefined))) {
      report(['regions'], `must have exactly one region with role "primary" (found ${primaries})`);
    }
    const seen = new Set<string>();
    regions.forEach((region, i) => {
      const has = (field: string) => known('regions', i, field);
      if (has('name')) {
        if (seen.has(region.name)) report(['regions', i, 'name'], `repeats region ${region.name}`);
        seen.add(region.name);
      }
      if (has('minTasks') && has('maxTasks') && region.minTasks > region.maxTasks) {
        report(
          ['regions', i, 'minTasks'],
          `(${region.minTasks}) must not exceed maxTasks (${region.maxTasks})`,
        );
      }
      if (has('role') && has('minTasks') && region.role === 'primary' && region.minTasks < 1) {
        report(
          ['regions', i, 'minTasks'],
          'must be at least 1 in the primary region, which serves all traffic',
        );
      }
      // The stable and the canary each need a task, and the count never exceeds maxTasks.
      if (spec.canary !== undefined && has('maxTasks') && region.maxTasks < 2) {
        report(
          ['regions', i, 'maxTasks'],
          `(${region.maxTasks}) must be at least 2 while the spec has a canary (one stable task and one canary task); raise maxTasks to 2 or remove the canary`,
        );
      }
    });
    const names = new Set(
      regions.map((_, i) => (known('regions', i, 'name') ? regions[i]!.name : undefined)),
    );
    const schedule: unknown = spec.scaling?.schedule;
    // Only against a list of regions that is known whole: an invalid name is reported where it is.
    const allNamed = regions.every((_, i) => known('regions', i, 'name'));
    const windows =
      allNamed && Array.isArray(schedule) ? (schedule as NonNullable<typeof spec.scaling.schedule>) : [];
    windows.forEach((window, i) => {
      if (!known('scaling', 'schedule', i, 'minTasks')) return;
      for (const name of Object.keys(window.minTasks)) {
        if (!names.has(name as (typeof regions)[number]['name'])) {
          report(
            ['scaling', 'schedule', i, 'minTasks', name],
            `names region ${printable(name)}, which the spec does not list`,
          );
        }
      }
    });
    if (known('canary', 'tag') && known('image', 'repository')) {
      const length = spec.image.repository.length + 1 + spec.canary!.tag.length;
      if (length > MAX_IMAGE_REFERENCE) {
        report(
          ['canary', 'tag'],
          `makes the canary's image reference (image.repository:canary.tag) ${length} characters; ECS allows at most ${MAX_IMAGE_REFERENCE}`,
        );
      }
    }
    if (known('canary', 'tag') && known('image', 'tag') && spec.canary!.tag === spec.image.tag) {
      report(
        ['canary', 'tag'],
        `is the stable tag ${spec.image.tag}; promote it by changing image.tag, or use another tag`,
      );
    }
  }),
);

export const SiteSchema = strict({
  $schema: v.optional(described(v.string(), 'Path or URL of this JSON Schema, for editors.')),
  apiVersion: v.literal(API_VERSION, `must be "${API_VERSION}"`),
  kind: v.literal('Site', 'must be "Site"'),
  metadata: strict({
    name: v.pipe(
      v.string(),
      v.regex(
        SITE_NAME,
        `must be 2–${MAX_SITE_NAME} characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen`,
      ),
    ),
  }),
  spec: SiteSpecBody,
});

/** A spec as a person writes it: optional fields may be left out. */
export type SiteInput = v.InferInput<typeof SiteSchema>;
/** A validated spec with every default filled in. */
export type Site = v.InferOutput<typeof SiteSchema>;
export type SiteSpec = Site['spec'];
