import type { Tags } from '../model/tags.ts';
import type { Page } from './page.ts';

export interface Origin {
  id: string;
  domainName: string;
  protocol: 'http-only' | 'https-only';
  connectionTimeoutSeconds: number;
  connectionAttempts: number;
  /** How long to wait for an answer once connected (CloudFront's OriginReadTimeout). */
  responseTimeoutSeconds: number;
  customHeaders: Readonly<Record<string, string>>;
}

export interface OriginGroup {
  id: string;
  primaryOriginId: string;
  failoverOriginId: string;
  statusCodes: number[];
}

/** The part of a CloudFront distribution tandem manages. */
export interface DistributionConfig {
  comment: string;
  enabled: boolean;
  aliases: string[];
  certificateArn?: string;
  priceClass: 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All';
  origins: Origin[];
  originGroup?: OriginGroup;
  /** The origin or origin group the default cache behavior targets. */
  targetOriginId: string;
  viewerProtocolPolicy: 'redirect-to-https';
  defaultTtlSeconds: number;
}

export interface DistributionSummary {
  id: string;
  arn: string;
  domainName: string;
  /** Config changes deploy for minutes: InProgress, then Deployed. */
  status: 'InProgress' | 'Deployed';
  config: DistributionConfig;
}

/** CloudFront: global, so no region. */
export interface CdnPort {
  /** Up to 100 distributions a page. */
  listDistributions(next?: string): Promise<Page<DistributionSummary>>;
  listTags(arn: string): Promise<Tags>;
  /** The config with the ETag an update or delete must quote (IfMatch). */
  getDistributionConfig(id: string): Promise<{ config: DistributionConfig; etag: string }>;
  createDistribution(config: DistributionConfig, tags: Tags): Promise<DistributionSummary>;
  /** Fails with Conflict when `ifMatch` is not the current ETag. */
  updateDistribution(id: string, config: DistributionConfig, ifMatch: string): Promise<void>;
  /** Only a disabled, Deployed distribution can be deleted. */
  deleteDistribution(id: string, ifMatch: string): Promise<void>;
}
