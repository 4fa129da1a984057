import { printable } from './printable.ts';

/**
 * JSON text read strictly, for spec files and stored spec text. `JSON.parse`
 * keeps the last copy of a repeated key (an invalid first `spec` hidden behind
 * a valid second), decodes invalid UTF-8 to U+FFFD, and places its errors by
 * character offset; this reader refuses the first two and places every
 * problem by line and column (columns count characters, from 1). It builds
 * the same values `JSON.parse` does, `__proto__` keys included as own
 * properties.
 */

/** A text that is not strict JSON; the message says where and what, as a predicate of the document. */
export class JsonTextError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses UTF-8 bytes or a string as JSON, nesting objects and arrays at most `maxDepth` deep. */
export function parseJsonText(input: string | Uint8Array, maxDepth: number): unknown {
  const text = typeof input === 'string' ? input : utf8(input);
  return new Reader(text, maxDepth).document();
}

function utf8(bytes: Uint8Array): string {
  const bad = firstInvalidUtf8(bytes);
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  if (bad < 0) return decoder.decode(bytes);
  const before = decoder.decode(bytes.subarray(0, bad));
  const { line, column } = position(before, before.length);
  const byte = `0x${bytes[bad]!.toString(16).padStart(2, '0')}`;
  throw new JsonTextError(
    line,
    column,
    `is not UTF-8 at line ${line}, column ${column} (byte ${byte}); save it as UTF-8`,
  );
}

/**
 * The offset of the first byte that does not begin a well-formed UTF-8
 * sequence (Unicode's table 3-7: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or -1.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const more =
      lead >= 0xc2 && lead <= 0xdf
        ? 1
        : lead >= 0xe0 && lead <= 0xef
          ? 2
          : lead >= 0xf0 && lead <= 0xf4
            ? 3
            : 0;
    if (more === 0) return i;
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= more; k += 1) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return i;
    }
    i += more + 1;
  }
  return -1;
}

/** Line and column (from 1, in characters) of `index` in `text`; CR LF, CR and LF each end a line. */
function position(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < index; k += 1) {
    const c = text.charCodeAt(k);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(k + 1) !== 0x0a)) {
      line += 1;
      start = k + 1;
    }
  }
  return { line, column: [...text.slice(start, index)].length + 1 };
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Reader {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    this.space();
    const value = this.value(0);
    this.space();
    if (this.i < this.text.length) this.fail(`expected the end of the document, found ${this.found()}`);
    return value;
  }

  private value(depth: number): unknown {
    const c = this.text[this.i];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of WORDS) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return value;
      }
    }
    return this.fail(`expected a value, found ${this.found()}`);
  }

  private object(depth: number): Record<string, unknown> {
    this.nest(depth);
    const object: Record<string, unknown> = {};
    const keys = new Map<string, number>();
    this.i += 1;
    this.space();
    if (this.text[this.i] === '}') {
      this.i += 1;
      return object;
    }
    for (;;) {
      if (this.text[this.i] !== '"') this.fail(`expected a key in double quotes, found ${this.found()}`);
      const at = this.i;
      const key = this.string();
      const first = keys.get(key);
      if (first !== undefined) this.repeated(key, first, at);
      keys.set(key, at);
      this.space();
      this.expect(':', 'after a key');
      this.space();
      // Defined, not assigned: a `__proto__` key is data, as JSON.parse makes it.
      Object.defineProperty(object, key, {
        value: this.value(depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.space();
      if (this.text[this.i] === '}') {
        this.i += 1;
        return object;
      }
      this.expect(',', 'or } after a value in an object');
      this.space();
    }
  }

  private array(depth: number): unknown[] {
    this.nest(depth);
    const array: unknown[] = [];
    this.i += 1;
    this.space();
    if (this.text[this.i] === ']') {
      this.i += 1;
      return array;
    }
    for (;;) {
      array.push(this.value(depth));
      this.space();
      if (this.text[this.i] === ']') {
        this.i += 1;
        return array;
      }
      this.expect(',', 'or ] after a value in an array');
      this.space();
    }
  }

  private string(): string {
    let out = '';
    let from = (this.i += 1);
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) return this.fail('expected " to end the string, found the end of the document');
      if (c === '"') {
        out += this.text.slice(from, this.i);
        this.i += 1;
        return out;
      }
      if (c < ' ') this.fail(`found ${this.found()} in a string; write it as an escape such as \\n`);
      if (c === '\\') {
        out += this.text.slice(from, this.i);
        out += this.escape();
        from = this.i;
      } else this.i += 1;
    }
  }

  private escape(): string {
    const c = this.text[this.i + 1];
    const simple = c === undefined ? undefined : ESCAPES[c];
    if (simple !== undefined) {
      this.i += 2;
      return simple;
    }
    const hex = this.text.slice(this.i + 2, this.i + 6);
    if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(hex)) {
      this.i += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    return this.fail('found a backslash that starts no escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
  }

  private number(): number {
    NUMBER.lastIndex = this.i;
    const match = NUMBER.exec(this.text);
    if (match === null) {
      this.i += 1;
      return this.fail(`expected a digit after -, found ${this.found()}`);
    }
    this.i += match[0].length;
    return Number(match[0]);
  }

  private space(): void {
    while (' \t\n\r'.includes(this.text[this.i] ?? '-')) this.i += 1;
  }

  private expect(char: string, where: string): void {
    if (this.text[this.i] !== char) this.fail(`expected ${char} ${where}, found ${this.found()}`);
    this.i += 1;
  }

  private nest(depth: number): void {
    if (depth <= this.maxDepth) return;
    const { line, column } = position(this.text, this.i);
    throw new JsonTextError(
      line,
      column,
      `nests objects and arrays more than ${this.maxDepth} deep at line ${line}, column ${column}`,
    );
  }

  private repeated(key: string, first: number, at: number): never {
    const was = position(this.text, first);
    const { line, column } = position(this.text, at);
    throw new JsonTextError(
      line,
      column,
      `repeats the key "${printable(key)}" at line ${line}, column ${column} (first at line ${was.line}, column ${was.column}); only one copy would be read: remove the other`,
    );
  }

  /** What is at `index`, for a message: the character escaped, or the end. */
  private found(): string {
    const code = this.text.codePointAt(this.i);
    if (code === undefined) return 'the end of the document';
    const char = String.fromCodePoint(code);
    const bom = code === 0xfeff ? ' (a byte order mark: save the file without one)' : '';
    return `'${printable(char)}'${bom}`;
  }

  private fail(problem: string): never {
    const { line, column } = position(this.text, this.i);
    throw new JsonTextError(line, column, `is not valid JSON at line ${line}, column ${column}: ${problem}`);
  }
}

const WORDS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
];
