import * as v from 'valibot';

/**
 * What woke the reconciler. EventBridge's schedule wakes it every minute to
 * reconcile every site; the table's stream wakes it when spec items change, to
 * reconcile those sites within seconds. The stream is only a wake-up: the
 * pass reads each spec from the table, as the scheduled one does, so a
 * wake-up that is lost or late costs time, never an edit.
 */
export type Trigger =
  | { kind: 'schedule' }
  | {
      kind: 'stream';
      /** The sites whose spec items changed, in name order. */
      sites: string[];
      /** Stream records that name no spec item (the event source's filter lets none through). */
      ignored: number;
      /** Records that could not be read, each with what was wrong. */
      unreadable: string[];
    };

const Key = v.object({ S: v.pipe(v.string(), v.minLength(1)) });

const StreamRecord = v.object({
  eventSource: v.literal('aws:dynamodb'),
  eventName: v.picklist(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: v.object({ Keys: v.object({ pk: Key, sk: Key }) }),
});

/** The partition holding the spec items; a change anywhere else (status, lease, platform) wakes nothing. */
const SPEC_PARTITION = 'spec';

/**
 * The trigger an event describes. An event with `Records` is a stream batch
 * (a DynamoDB Streams event); anything else, a scheduled event or a manual
 * `aws lambda invoke` with `{}`, asks for a pass over every site.
 */
export function readTrigger(event: unknown): Trigger {
  if (typeof event !== 'object' || event === null || !('Records' in event)) return { kind: 'schedule' };
  const records = (event as { Records: unknown }).Records;
  const trigger = { kind: 'stream' as const, sites: [] as string[], ignored: 0, unreadable: [] as string[] };
  if (!Array.isArray(records)) {
    trigger.unreadable.push('Records is not a list');
    return trigger;
  }
  const sites = new Set<string>();
  records.forEach((record: unknown, i) => {
    const parsed = v.safeParse(StreamRecord, record);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const path = v.getDotPath(issue) ?? '';
      trigger.unreadable.push(`Records[${i}]${path === '' ? '' : `.${path}`}: ${issue.message}`);
      return;
    }
    const { pk, sk } = parsed.output.dynamodb.Keys;
    if (pk.S === SPEC_PARTITION) sites.add(sk.S);
    else trigger.ignored += 1;
  });
  trigger.sites = [...sites].sort();
  return trigger;
}

/**
 * A stream batch the reconciler could not act on now: another invocation
 * holds the region's lease, or the store could not be read. Thrown so the
 * event source mapping retries the batch (a bounded number of times, within
 * a bounded age); when it gives up, the next scheduled pass, which reads
 * every spec, applies the edit.
 */
export class WakeUpNotServed extends Error {
  constructor(
    readonly sites: readonly string[],
    readonly why: string,
  ) {
    super(`edited sites ${sites.join(', ')} not reconciled now (${why}); the batch is retried`);
    this.name = 'WakeUpNotServed';
  }
}
