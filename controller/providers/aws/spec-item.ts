import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * A spec document in a DynamoDB item, as people edit it. `tandem apply` writes
 * it as a native map (`spec` M: `apiVersion`, `kind`, `metadata`, `spec` as the
 * document has them), so the console's form and JSON views show the fields as
 * fields and `aws dynamodb update-item` can change one in place. A document no
 * map can hold exactly (nested deeper than DynamoDB allows, an empty key or
 * `__proto__`, a number outside DynamoDB's range) is kept as JSON text instead (`document`
 * S), the form tandem wrote before, which is still read.
 */

/** The attribute holding the document as a map. */
export const SPEC_ATTRIBUTE = 'spec';
/** The attribute holding the document as JSON text: the form before, and the fallback. */
export const DOCUMENT_ATTRIBUTE = 'document';

/** DynamoDB nests maps and lists at most 32 levels deep; the item is the first. */
const MAX_DEPTH = 31;
/** DynamoDB's numbers: 38 digits of precision, magnitudes from 1E-130 to 9.99E+125. */
const MAX_MAGNITUDE = 9.99e125;
const MIN_MAGNITUDE = 1e-130;

/** The attributes that hold `document`: a map where one can hold it exactly, else JSON text. */
export function documentAttributes(document: unknown, json: string): Record<string, AttributeValue> {
  const map = asAttribute(document, 0);
  return map === undefined ? { [DOCUMENT_ATTRIBUTE]: { S: json } } : { [SPEC_ATTRIBUTE]: map };
}

function asAttribute(value: unknown, depth: number): AttributeValue | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'boolean') return { BOOL: value };
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (
      !Number.isFinite(value) ||
      (magnitude !== 0 && (magnitude > MAX_MAGNITUDE || magnitude < MIN_MAGNITUDE))
    )
      return undefined;
    const text = String(value);
    // Exponent notation is left to the JSON text form rather than trusted to DynamoDB's number parser.
    return text.includes('e') ? undefined : { N: text };
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => asAttribute(item, depth + 1));
    return items.every((item) => item !== undefined) ? { L: items as AttributeValue[] } : undefined;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    // An empty key DynamoDB refuses; `__proto__` the SDK's serializer would turn into a prototype and lose.
    if (entries.some(([key]) => key === '' || key === '__proto__')) return undefined;
    const map: [string, AttributeValue][] = [];
    for (const [key, item] of entries) {
      const attribute = asAttribute(item, depth + 1);
      if (attribute === undefined) return undefined;
      map.push([key, attribute]);
    }
    // fromEntries defines each key as the object's own, `__proto__` too (an assignment would set the prototype).
    return { M: Object.fromEntries(map) };
  }
  return undefined;
}

/** A field of a hand-edited item that JSON has no form for. */
export interface AttributeProblem {
  /** The document's path, e.g. `spec.regions[0].name`. */
  field: string;
  message: string;
}

export interface ReadDocument {
  document: unknown;
  /** Set, binary and number values JSON cannot hold, each with its path and the type to use. */
  problems: AttributeProblem[];
}

/**
 * The document a `spec` map holds, as JSON. A value of a type JSON lacks
 * (string, number or binary sets, binary) is read as well as it can be and
 * named, with the type to use instead, so the site is reported Invalid with
 * the field rather than misread.
 */
export function readDocument(attribute: AttributeValue): ReadDocument {
  const problems: AttributeProblem[] = [];
  const document = read(attribute, [], problems);
  return { document, problems };
}

function read(
  value: AttributeValue,
  path: readonly (string | number)[],
  problems: AttributeProblem[],
): unknown {
  const say = (found: string, use: string) =>
    problems.push({
      field: fieldOf(path),
      message: `is ${found} in the item (attribute ${attributePath(path)}); JSON has no such type: store ${use}`,
    });
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) {
    const n = Number(value.N);
    if (Number.isFinite(n) && holdsExactly(value.N, n)) return n;
    say(
      `the number ${value.N}, which a JSON number cannot hold exactly`,
      'a number of at most 15 digits (N)',
    );
    return value.N;
  }
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map((item, i) => read(item, [...path, i], problems));
  if (value.M !== undefined)
    return Object.fromEntries(
      Object.entries(value.M).map(([key, item]) => [key, read(item, [...path, key], problems)]),
    );
  if (value.SS !== undefined) {
    say('a string set (SS)', 'a list (L) of strings (S)');
    return [...value.SS];
  }
  if (value.NS !== undefined) {
    say('a number set (NS)', 'a list (L) of numbers (N)');
    return value.NS.map(Number);
  }
  if (value.BS !== undefined) {
    say('a binary set (BS)', 'a list (L) of strings (S)');
    return value.BS.map((b) => Buffer.from(b).toString('base64'));
  }
  if (value.B !== undefined) {
    say('binary (B)', 'a string (S)');
    return Buffer.from(value.B).toString('base64');
  }
  say('of a type tandem does not know', 'a JSON value: S, N, BOOL, NULL, L or M');
  return undefined;
}

/**
 * Whether `n` is the whole number `text` says, digit for digit (1e20 is;
 * 12345678901234567891 is not). Fractions are as exact as JSON's own.
 */
function holdsExactly(text: string, n: number): boolean {
  if (!/^-?\d+$/.test(text.trim())) return true;
  return Number.isInteger(n) && BigInt(text.trim()) === BigInt(n);
}

/** `spec.regions[0].name`: how validation names a field. */
function fieldOf(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? key : `${out}.${key}`),
    '',
  );
}

/** `spec.spec.regions[0].name`: the attribute path in the item, as update-item names it. */
function attributePath(path: readonly (string | number)[]): string {
  const inner = fieldOf(path);
  return inner === ''
    ? SPEC_ATTRIBUTE
    : inner.startsWith('[')
      ? `${SPEC_ATTRIBUTE}${inner}`
      : `${SPEC_ATTRIBUTE}.${inner}`;
}

/** An item's size as DynamoDB counts it, near enough to refuse one over its 400 KB limit before sending it. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (n, [name, value]) => n + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  // A number takes about one byte per two significant digits, plus one.
  if (value.N !== undefined) return Math.ceil(value.N.replace(/[^0-9]/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((n, item) => n + 1 + valueBytes(item), 0);
  if (value.M !== undefined)
    return (
      3 +
      Object.entries(value.M).reduce((n, [key, item]) => n + 1 + Buffer.byteLength(key) + valueBytes(item), 0)
    );
  if (value.B !== undefined) return value.B.length;
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + s.length, 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.length, 0);
  return 0;
}
