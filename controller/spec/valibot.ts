import * as v from 'valibot';

/**
 * What tandem adds to valibot, for the spec and for the items and files read
 * from outside: objects that are objects, and issues in tandem's words (the
 * field an issue is about and what to do).
 */

/**
 * valibot's object and record schemas take an array for an object with keys
 * 0, 1, …; where tandem expects an object, an array is of the wrong type.
 */
export function objectOnly<T extends v.GenericSchema>(schema: T): T {
  return {
    ...schema,
    '~run'(dataset, config) {
      if (!Array.isArray(dataset.value)) return schema['~run'](dataset, config);
      v._addIssue(schema, 'type', dataset, config);
      return dataset as ReturnType<T['~run']>;
    },
  };
}

/** Keys valibot's record() skips without an issue, to keep them from reaching a prototype. */
const SKIPPED_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/**
 * A record schema that reports each key valibot's record() would skip,
 * rather than return an object with fewer entries than its input (a task
 * with fewer variables than its spec shows).
 */
export function everyKey<T extends v.GenericSchema>(schema: T, message: string): T {
  return {
    ...schema,
    '~run'(dataset, config) {
      const input = dataset.value;
      const result = schema['~run'](dataset, config);
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return result;
      for (const key of SKIPPED_KEYS) {
        if (!Object.hasOwn(input, key)) continue;
        const value = (input as Record<string, unknown>)[key];
        v._addIssue(schema, 'key', result, config, {
          input: key,
          message,
          path: [{ type: 'object', origin: 'value', input: input as Record<string, unknown>, key, value }],
        });
      }
      return result as ReturnType<T['~run']>;
    },
  };
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
