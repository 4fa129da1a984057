import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JsonTextError, parseJsonText } from '../controller/spec/json-text.ts';

const parse = (text: string | Uint8Array) => parseJsonText(text, 32);

function refusal(text: string | Uint8Array): JsonTextError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof JsonTextError) return error;
    throw error;
  }
  assert.fail('expected the text to be refused');
}

test('property: any JSON text JSON.stringify writes reads as JSON.parse reads it, from a string or UTF-8 bytes', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      assert.deepEqual(parse(text), JSON.parse(text));
      assert.deepEqual(parse(Buffer.from(text, 'utf8')), JSON.parse(text));
    }),
  );
});

test('a __proto__ key is kept as data, as JSON.parse keeps it', () => {
  const text = '{"__proto__": {"polluted": true}, "constructor": 1}';
  const value = parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a repeated key is refused where the second copy starts, even when spelled with an escape', () => {
  const error = refusal('{\n  "a": 1,\n  "\\u0061": 2\n}');
  assert.deepEqual([error.line, error.column], [3, 3]);
  assert.match(error.message, /repeats the key "a" at line 3, column 3 \(first at line 2, column 3\)/);
  // The same key in two objects is no repeat.
  assert.deepEqual(parse('[{"a": 1}, {"a": 2}]'), [{ a: 1 }, { a: 2 }]);
});

test('bytes that are not UTF-8 are refused at their line and column, not read as U+FFFD', () => {
  for (const [bytes, column] of [
    [[0x22, 0xff, 0x22], 2], // not a lead byte
    [[0x22, 0xc3, 0x22], 2], // a lead byte without its continuation
    [[0x22, 0xe0, 0x80, 0x80, 0x22], 2], // overlong
    [[0x22, 0xed, 0xa0, 0x80, 0x22], 2], // a surrogate
    [[0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], 2], // above U+10FFFF
    [[0x22, 0xc3, 0xa9, 0xc3, 0x22], 3], // after a well-formed é
  ] as const) {
    const error = refusal(Uint8Array.from(bytes));
    assert.match(error.message, /^is not UTF-8 at line 1, column \d+ \(byte 0x[0-9a-f]{2}\)/);
    assert.equal(error.column, column, Buffer.from(bytes).toString('hex'));
  }
  // U+FFFD written as UTF-8 is a character like any other.
  assert.equal(parse(Buffer.from('"\uFFFD"', 'utf8')), '\uFFFD');
});

test('a syntax error is placed by line and column, and what was found is escaped', () => {
  const error = refusal('{\r\n  "kind": "Site"\r\n  "x": 1}');
  assert.deepEqual([error.line, error.column], [3, 3]);
  assert.equal(
    error.message,
    `is not valid JSON at line 3, column 3: expected , or } after a value in an object, found '"'`,
  );
  assert.equal(
    refusal('{"a": \u001b[2J}').message,
    "is not valid JSON at line 1, column 7: expected a value, found '\\u001b'",
  );
});

test('nesting deeper than the limit is refused where it goes too deep, without exhausting the stack', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const error = refusal(deep);
  assert.equal(error.message, 'nests objects and arrays more than 32 deep at line 1, column 33');
  assert.deepEqual(parse('['.repeat(32) + ']'.repeat(32)), JSON.parse('['.repeat(32) + ']'.repeat(32)));
});
