import * as v from 'valibot';
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
  const parsed = v.safeParse(SiteSchema, document);
  if (parsed.success) return { ok: true, site: parsed.output };
  // One problem per field, its first: a field's own checks come before the rules across fields.
  const problems = new Map<string, SpecProblem>();
  for (const issue of parsed.issues) {
    const field = formatPath(issueKeys(issue));
    if (!problems.has(field)) problems.set(field, { field, message: issueMessage(issue) });
  }
  return { ok: false, problems: [...problems.values()] };
}

/** One line per problem, each naming its field. */
export function formatProblems(problems: readonly SpecProblem[]): string {
  return problems
    .map((p) => (p.field === '' ? `document ${p.message}` : `${p.field} ${p.message}`))
    .join('\n');
}

/** Object schemas: their issues about a key (missing or unknown) have the key's own origin. */
const OBJECT_TYPES = new Set(['object', 'strict_object', 'loose_object', 'object_with_rest']);

/**
 * The keys from the document's root to the field an issue is about. An
 * unknown field is reported on the object that holds it (its message names
 * every unknown field there).
 */
export function issueKeys(issue: v.BaseIssue<unknown>): PropertyKey[] {
  const keys = (issue.path ?? []).map((item) => item.key as PropertyKey);
  return isUnknownField(issue) ? keys.slice(0, -1) : keys;
}

/**
 * An issue's message in tandem's words. Schemas give their own messages for
 * what they check; valibot's message for a value of the wrong type ("Invalid
 * type: Expected number but received "3"") becomes "must be a number", and
 * for a missing value "is required".
 */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  const last = issue.path?.at(-1);
  if (last?.origin === 'key' && !OBJECT_TYPES.has(issue.type)) return `has a bad key: ${issue.message}`;
  if (issue.kind !== 'schema' || !/^Invalid (type|key):/.test(issue.message)) return issue.message;
  if (issue.received === 'undefined') return 'is required';
  return `must be ${article((issue.expected ?? 'value').toLowerCase())}`;
}

function isUnknownField(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never' && issue.path?.at(-1)?.origin === 'key';
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out === '' ? String(key) : `${out}.${String(key)}`;
  }, '');
}
