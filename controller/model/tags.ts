/** Tags tandem puts on everything it creates; it changes or deletes only what carries them. */
export type Tags = Readonly<Record<string, string>>;

export const MANAGED_BY_TAG = 'tandem:managed-by';
export const SITE_TAG = 'tandem:site';
export const MANAGED_BY_VALUE = 'tandem';

export function ownershipTags(site: string): Tags {
  return { [MANAGED_BY_TAG]: MANAGED_BY_VALUE, [SITE_TAG]: site };
}

/** True only when `tags` say tandem created the resource for `site`. */
export function isOwnedBy(tags: Tags | undefined, site: string): boolean {
  return tags?.[MANAGED_BY_TAG] === MANAGED_BY_VALUE && tags[SITE_TAG] === site;
}

/** The site a resource belongs to, when tandem created it. */
export function ownerOf(tags: Tags | undefined): string | undefined {
  return tags?.[MANAGED_BY_TAG] === MANAGED_BY_VALUE ? tags[SITE_TAG] : undefined;
}
