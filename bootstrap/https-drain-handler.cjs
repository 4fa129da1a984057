/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, inlined into a Lambda */
/* global Buffer, console, setTimeout */
// The HTTPS drain's handler (bootstrap/https-drain.ts), inlined into its Lambda at synth.
// On Delete it waits until no CloudFront distribution names the origin name or any of the failover
// names any more and every tandem distribution is Deployed, so CloudFormation deletes the HTTPS
// listener, its certificate, its record, its 443 rule and the failover records and health check
// (which depend on it) only once nothing reaches them. It always
// answers SUCCESS: it gives up after about 14 minutes rather than block a deploy or a teardown.
'use strict';
const https = require('node:https');

const STEP_MS = 20_000;
/** What must be left of the 15-minute run to wait one more step and still answer. */
const RESERVE_MS = STEP_MS + 30_000;

/** What still uses `names`: distributions naming one, and tandem distributions not yet deployed. */
async function inUse(client, ListDistributionsCommand, names) {
  const using = [];
  let marker;
  do {
    const page = await client.send(
      new ListDistributionsCommand(marker === undefined ? {} : { Marker: marker }),
    );
    const list = page.DistributionList ?? {};
    for (const d of list.Items ?? []) {
      const named = (d.Origins?.Items ?? []).map((o) => o.DomainName).filter((n) => names.includes(n));
      if (named.length > 0) using.push(`${d.Id} names ${[...new Set(named)].join(', ')}`);
      else if (d.Status !== 'Deployed' && (d.Comment ?? '').startsWith('tandem site '))
        using.push(`${d.Id} is ${d.Status}`);
    }
    marker = list.IsTruncated ? list.NextMarker : undefined;
  } while (marker !== undefined);
  return using;
}

/** The custom resource's answer, PUT to the presigned URL CloudFormation gave. */
function respond(event, physicalId, reason, put) {
  const body = JSON.stringify({
    Status: 'SUCCESS',
    Reason: reason.slice(0, 1000),
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  return put(event.ResponseURL, body);
}

function httpsPut(url, body) {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', resolve);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * `deps` for tests: { client, ListDistributionsCommand, put, sleep }. A new origin name is a new
 * physical id, so CloudFormation deletes (and so drains) the old name's resource.
 */
async function handle(event, context, deps) {
  const name = event.ResourceProperties.OriginName;
  // Absent from a resource made before the failover names: then only the origin name.
  const names = [name, ...(event.ResourceProperties.FailoverNames ?? [])];
  const physicalId = event.RequestType === 'Delete' ? event.PhysicalResourceId : `tandem-https-drain/${name}`;
  let reason = 'nothing to wait for';
  if (event.RequestType === 'Delete') {
    try {
      for (;;) {
        const using = await inUse(deps.client, deps.ListDistributionsCommand, names);
        if (using.length === 0) {
          reason = `no distribution uses ${names.join(', ')}`;
          break;
        }
        if (context.getRemainingTimeInMillis() < RESERVE_MS) {
          reason = `gave up waiting: ${using.join('; ')}`;
          break;
        }
        console.log(`waiting: ${using.join('; ')}`);
        await deps.sleep(STEP_MS);
      }
    } catch (error) {
      reason = `could not list the distributions: ${error}`;
    }
  }
  console.log(reason);
  await respond(event, physicalId, reason, deps.put);
  return reason;
}

exports.handle = handle;
exports.handler = async (event, context) => {
  // The Lambda runtime's SDK; required here so a test can load this file without it.
  const { CloudFrontClient, ListDistributionsCommand } = require('@aws-sdk/client-cloudfront');
  const client = new CloudFrontClient({});
  return handle(event, context, {
    client,
    ListDistributionsCommand,
    put: httpsPut,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
};
