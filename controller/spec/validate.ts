import type { z } from 'zod';
import { MAX_SPEC_BYTES, SiteSchema, type Site } from './schema.ts';

/** One problem with a spec: the field it is about and what to do. */
export interface SpecProblem {
  /** Dotted path of the field, such as `spec.regions[1].maxTasks`; empty for the whole document. */
  field: string;
  message: string;
}

export type SpecValidation = { ok: true; site: Site } | { ok: false; problems: SpecProblem[] };

/** Validates an untrusted document and fills in every default. */
export function validateSite(document: unknown): SpecValidation {
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(document) ?? '');
  } catch {
    return { ok: false, problems: [{ field: '', message: 'is not a JSON document' }] };
  }
  if (size > MAX_SPEC_BYTES) {
    return {
      ok: false,
      problems: [{ field: '', message: `is ${size} bytes; a spec may be at most ${MAX_SPEC_BYTES} bytes` }],
    };
  }
  const parsed = SiteSchema.safeParse(document);
  if (parsed.success) return { ok: true, site: parsed.data };
  // A field of the wrong type gets one problem, not also the checks that assumed its type.
  const problems = parsed.error.issues.map(toProblem);
  const mistyped = new Set(
    parsed.error.issues.filter((i) => i.code === 'invalid_type').map((i) => formatPath(i.path)),
  );
  return {
    ok: false,
    problems: problems.filter(
      (p, i) => parsed.error.issues[i]!.code === 'invalid_type' || !mistyped.has(p.field),
    ),
  };
}

/** One line per problem, each naming its field. */
export function formatProblems(problems: readonly SpecProblem[]): string {
  return problems
    .map((p) => (p.field === '' ? `document ${p.message}` : `${p.field} ${p.message}`))
    .join('\n');
}

function toProblem(issue: z.core.$ZodIssue): SpecProblem {
  const path = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}: remove or rename ${issue.keys.length > 1 ? 'them' : 'it'}`;
  } else if (issue.code === 'invalid_key') {
    message = `has a bad key: ${issue.issues[0]?.message ?? 'rename it'}`;
  } else if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = message.endsWith('received undefined') ? 'is required' : `must be ${article(issue.expected)}`;
  }
  return { field: formatPath(path), message };
}

function article(expected: string): string {
  if (expected === 'record') return 'an object';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out === '' ? String(key) : `${out}.${String(key)}`;
  }, '');
}
