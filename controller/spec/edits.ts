import type { EditRecord, StoredSpec } from '../ports/store.ts';

/**
 * Edits lost to a global table's last writer wins. A spec may be written in
 * any region's replica; two writes made at once in two replicas are settled
 * by the last one winning, silently. Each write therefore records, in an item
 * only its region writes (`EditRecord`), how many edits of the site were made
 * there (`seq`), and carries in the spec item the newest edit of every region
 * its replica held when it wrote (`lineage.seen`): it overwrote those
 * knowingly. An edit record the spec's lineage has not seen was overwritten
 * unseen: its edit was lost. Pure.
 */

/** An edit the current spec overwrote without having seen it, and the write that won. */
export interface LostEdit {
  lost: EditRecord;
  /** The region whose write the spec now holds, and its generation. */
  winner: { region: string; generation: number };
}

/** The edits of `spec.name` that `spec` overwrote unseen; none for a spec written without a lineage. */
export function findLostEdits(spec: StoredSpec, edits: readonly EditRecord[]): LostEdit[] {
  const lineage = spec.lineage;
  if (lineage === undefined) return [];
  return edits
    .filter((e) => e.site === spec.name && e.seq > (lineage.seen[e.region] ?? 0))
    .sort((a, b) => (a.region < b.region ? -1 : 1))
    .map((lost) => ({ lost, winner: { region: lineage.region, generation: spec.generation } }));
}

/**
 * The lineage's `seen` for a new write: per region, the newest edit the
 * overwritten spec had seen or this replica's records hold, and the writer's own.
 */
export function mergeSeen(
  overwritten: Readonly<Record<string, number>> | undefined,
  records: readonly EditRecord[],
  own: Readonly<Record<string, number>>,
): Record<string, number> {
  const seen: Record<string, number> = { ...overwritten };
  for (const record of [...records, ...Object.entries(own).map(([region, seq]) => ({ region, seq }))])
    seen[record.region] = Math.max(seen[record.region] ?? 0, record.seq);
  return seen;
}

/** The SpecConflict condition's message for the lost edits. */
export function lostEditsMessage(lost: readonly LostEdit[]): string {
  return lost
    .map(
      ({ lost: e, winner }) =>
        `the edit made in ${e.region} at ${e.at} (generation ${e.generation}) was overwritten by the one made in ${winner.region} (generation ${winner.generation}) when the replicas met; the table keeps the last writer's`,
    )
    .concat('apply the spec you want again (tandem apply -f) to settle it')
    .join('; ');
}
