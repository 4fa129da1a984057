import { secretFingerprint } from '../model/naming.ts';
import type { ObservedCdn, ObservedRegion } from '../model/observed.ts';
import type { SiteStatus } from '../model/status.ts';
import type { RuleHeader } from '../ports/load-balancer.ts';
import type { SiteSpec } from '../spec/schema.ts';

/**
 * Rotating the origin secret without dropping a request (docs/bootstrap.md, "The origin secret").
 * Secrets Manager keeps the new secret as AWSCURRENT and the old one as AWSPREVIOUS. A site moves
 * from the old to the new in three steps, each taken only when the one before is seen done:
 *
 * 1. every region's rules accept both values (each region on its own, the pass it reads the new secret);
 * 2. the distribution sends the new value, once every region behind it reports that its rules
 *    accept it (status `originSecrets`);
 * 3. every region drops the old value, once the global duties' holder reports the distribution
 *    Deployed sending the new one (status `cdn.originSecret`).
 *
 * Until then the old value keeps working, so a region that cannot be reached stalls the rotation,
 * never the site. Secrets are named by fingerprint here and in status, never by value.
 */

/** The platform's secrets by fingerprint: AWSCURRENT, and AWSPREVIOUS while there is one. */
export interface SecretFingerprints {
  current: string;
  previous?: string;
}

export interface OriginSecretDecision {
  /** This region's rules accept the previous secret as well as the current one. */
  acceptPrevious: boolean;
  /** The distribution goes on sending the previous secret (only the global duties' holder acts on it). */
  sendPrevious: boolean;
}

const SETTLED: OriginSecretDecision = { acceptPrevious: false, sendPrevious: false };

/** The fingerprint of the secret in an origin header value (`<site>.<secret>`); undefined for a value without one. */
export function fingerprintOfHeaderValue(value: string): string | undefined {
  const dot = value.indexOf('.');
  return dot < 0 ? undefined : secretFingerprint(value.slice(dot + 1));
}

/** The secrets every rule of the site in this region accepts, by fingerprint, sorted; empty without rules. */
export function acceptedFingerprints(rules: readonly { header: RuleHeader }[]): string[] {
  if (rules.length === 0) return [];
  const sets = rules.map(
    (rule) =>
      new Set(rule.header.values.map(fingerprintOfHeaderValue).filter((f): f is string => f !== undefined)),
  );
  return [...sets[0]!].filter((fingerprint) => sets.every((set) => set.has(fingerprint))).sort();
}

/** The secret every origin of a distribution sends, by fingerprint; undefined when they differ or send none. */
export function sentFingerprint(
  origins: readonly { customHeaders: Readonly<Record<string, string>> }[],
  headerName: string,
): string | undefined {
  const sent = new Set(
    origins.map((origin) => {
      const entry = Object.entries(origin.customHeaders).find(
        ([name]) => name.toLowerCase() === headerName.toLowerCase(),
      );
      return entry === undefined ? undefined : fingerprintOfHeaderValue(entry[1]);
    }),
  );
  const [only] = sent;
  return sent.size === 1 ? only : undefined;
}

export interface OriginSecretInput {
  secrets: SecretFingerprints | undefined;
  self: string;
  spec: SiteSpec;
  /** This region as observed this pass. */
  seen: ObservedRegion | undefined;
  /** The site's distributions, observed only by the global duties' holder. */
  cdn: ObservedCdn | undefined;
  /** This region's last report and the other regions' reports. */
  reports: readonly (SiteStatus | undefined)[];
}

/** Where a site is in a rotation of the origin secret, from what is seen and reported. Pure. */
export function decideOriginSecret(input: OriginSecretInput): OriginSecretDecision {
  const { secrets } = input;
  if (secrets?.previous === undefined) return SETTLED;
  const sending = distributionSends(input);
  const onCurrent = sending?.fingerprint === secrets.current;
  return {
    acceptPrevious: !(onCurrent && sending.deployed),
    sendPrevious: sending?.fingerprint === secrets.previous && !everyOriginAccepts(input, secrets.current),
  };
}

/** What the site's distribution sends: as observed by its holder, else as the holder reports it. */
function distributionSends(input: OriginSecretInput): { fingerprint: string; deployed: boolean } | undefined {
  const owned = input.cdn?.distributions.find((d) => d.owned);
  if (owned !== undefined) {
    return owned.originSecret === undefined
      ? undefined
      : { fingerprint: owned.originSecret, deployed: owned.status === 'Deployed' };
  }
  const holder = input.reports.find(
    (report) => report?.global === true && report.cdn.originSecret !== undefined,
  );
  const reported = holder?.cdn;
  return reported?.originSecret === undefined
    ? undefined
    : { fingerprint: reported.originSecret, deployed: reported.state === 'Deployed' };
}

/** True when every region the distribution reaches accepts the secret: this one as seen, the others as reported. */
function everyOriginAccepts(input: OriginSecretInput, fingerprint: string): boolean {
  const { spec, self } = input;
  const primary = spec.regions.find((r) => r.role === 'primary') ?? spec.regions[0];
  const failover = spec.regions.find((r) => r.role === 'failover');
  const origins = [primary, failover].filter((r) => r !== undefined).map((r) => r.name);
  return origins.every((region) => {
    if (region === self) return acceptedFingerprints(input.seen?.rules ?? []).includes(fingerprint);
    const report = input.reports.find((r) => r?.region === region);
    return report?.regions[region]?.originSecrets?.includes(fingerprint) === true;
  });
}
