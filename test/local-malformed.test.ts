// A stored item tandem did not write in that shape (an edit in the console, say) is said, by the
// local cloud's log once and by every CLI read, never read as something else in silence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { pino } from 'pino';
import { localStoreClient } from '../controller/providers/local/store.ts';
import { startTestCloud, tandem, waitFor } from './support/local-cloud.ts';

test('a malformed spec item is reported once in the local cloud’s log and by tandem get, which still lists it', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const { cloud, dir, stop } = await startTestCloud({ intervalSeconds: 1, log });
  try {
    const client = localStoreClient(cloud.endpoints!.store);
    await client.send(
      new PutItemCommand({
        TableName: cloud.endpoints!.table,
        Item: { pk: { S: 'spec' }, sk: { S: 'broken' }, generation: { S: 'five' }, document: { S: '{}' } },
      }),
    );
    client.destroy();
    const problem =
      'item pk=spec sk=broken in table tandem: field generation must be a number (found "five"); fix the item or re-apply the spec with tandem apply -f';

    const get = await tandem(dir, ['get']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stderr, new RegExp(`warning: ${problem.replace(/[()]/g, '\\$&')}`));
    assert.match(get.stdout, /^broken\s/m);

    const malformed = () =>
      lines
        .map((l) => JSON.parse(l) as { msg: string; err?: string })
        .filter((l) => l.msg === 'malformed item in the store');
    await waitFor('the log to report the item', () => (malformed().length > 0 ? true : undefined), 10_000);
    const passes = async () =>
      ((await (await fetch(new URL('api/local', cloud.endpoints!.dashboard))).json()) as { passes: number })
        .passes;
    const after = (await passes()) + 2;
    await waitFor('two more passes', async () => ((await passes()) >= after ? true : undefined), 10_000);
    assert.deepEqual(
      malformed().map((l) => l.err),
      [problem],
      'once, not once a pass',
    );
  } finally {
    await stop();
  }
});
