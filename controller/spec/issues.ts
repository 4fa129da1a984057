import type * as v from 'valibot';

/**
 * A valibot issue in tandem's words: the field it is about and what to do.
 * Shared by the spec's validation and the checks of items read from AWS.
 */

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
