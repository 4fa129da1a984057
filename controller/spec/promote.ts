/**
 * Spec edits that promote or abort a canary. They work on the stored document
 * as the person wrote it (not the validated one with defaults filled in), so
 * everything else they wrote is kept as written.
 */

type Document = { spec?: { image?: { tag?: unknown }; canary?: { tag?: unknown } } } & Record<
  string,
  unknown
>;

/** The canary becomes the stable image; the canary section goes. */
export function promoteCanary(document: unknown): unknown {
  const copy = structuredClone(document) as Document;
  const tag = copy.spec?.canary?.tag;
  if (typeof tag !== 'string' || copy.spec?.image === undefined)
    throw new Error('the spec has no canary to promote');
  copy.spec.image.tag = tag;
  delete copy.spec.canary;
  return copy;
}

/** The canary is removed: its traffic returns to stable and its tasks drain. */
export function abortCanary(document: unknown): unknown {
  const copy = structuredClone(document) as Document;
  if (copy.spec?.canary === undefined) throw new Error('the spec has no canary to abort');
  delete copy.spec.canary;
  return copy;
}
