import * as v from 'valibot';
import { printable, withoutControls } from './printable.ts';
import { issueKeys, issueMessage } from './valibot.ts';
import { MAX_SPEC_BYTES, MAX_SPEC_DEPTH, SiteSchema, type Site } from './schema.ts';

/** One problem with a spec: the field it is about and what to do. */
export interface SpecProblem {
  /** Dotted path of the field, such as `spec.regions[1].maxTasks`; empty for the whole document. */
  field: string;
  message: string;
}

export type SpecValidation = { ok: true; site: Site } | { ok: false; problems: SpecProblem[] };

/**
 * Validates an untrusted document and fills in every default. Every field
 * and message is safe to print: what the document says is shown escaped.
 * Text is parsed before it gets here (spec files by json-text.ts, with line
 * and column); a store hands over text it could not parse as is, which is
 * said so rather than "must be an object". (The reconciler Lambda carries no
 * JSON text reader of its own: see docs/performance.md on its size.)
 */
export function validateSite(document: unknown): SpecValidation {
  if (typeof document === 'string' && !isJsonText(document)) {
    return {
      ok: false,
      problems: [{ field: '', message: 'is text that is not JSON, where a JSON object belongs' }],
    };
  }
  if (tooDeep(document, 0)) {
    return {
      ok: false,
      problems: [{ field: '', message: `nests objects and arrays more than ${MAX_SPEC_DEPTH} deep` }],
    };
  }
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
    if (!problems.has(field)) problems.set(field, { field, message: withoutControls(issueMessage(issue)) });
  }
  return { ok: false, problems: [...problems.values()] };
}

/** One line per problem, each naming its field. */
export function formatProblems(problems: readonly SpecProblem[]): string {
  return problems
    .map((p) => (p.field === '' ? `document ${p.message}` : `${p.field} ${p.message}`))
    .join('\n');
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out === '' ? printable(String(key)) : `${out}.${printable(String(key))}`;
  }, '');
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether `value` nests objects and arrays deeper than a spec may; stops at the first level too deep. */
function tooDeep(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth >= MAX_SPEC_DEPTH) return true;
  return Object.values(value).some((item) => tooDeep(item, depth + 1));
}
