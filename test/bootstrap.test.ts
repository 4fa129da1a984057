import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, DEFAULT_REGIONS, PLACEHOLDER_ACCOUNT, readConfig } from '../bootstrap/config.ts';
import { ControlStack } from '../bootstrap/control-stack.ts';
import { PlatformStack } from '../bootstrap/platform-stack.ts';
import { Reconciler } from '../bootstrap/reconciler.ts';
import { addTandemStacks } from '../bootstrap/stacks.ts';
import {
  HEALTH_CHECK_BODY,
  HEALTH_CHECK_PATH,
  HEALTH_RULE_PRIORITY,
  ROUTE53_FAILOVER,
  failoverBackupRegion,
} from '../controller/model/dns-failover.ts';

/**
 * One synthesis of the whole app (the control stack and both default
 * regions), shared by every test: the offline context from
 * bootstrap/cdk.context.json, no built-in CloudFormation validation (the real
 * `npm run synth` runs it).
 */
const context = JSON.parse(readFileSync(new URL('../bootstrap/cdk.context.json', import.meta.url), 'utf8'));
const app = new App({ context, builtinCloudFormationValidation: false });
const config = readConfig(() => undefined, {});
const stacks = addTandemStacks(app, config);
const control = Template.fromStack(stacks.control);
const platforms = Object.fromEntries(
  Object.entries(stacks.platforms).map(([region, stack]) => [region, Template.fromStack(stack)]),
);

/**
 * The second configuration, privateTasks on: one platform stack is enough
 * (the flag changes nothing else; the reconciler's bundle is reused from the
 * first synthesis).
 */
const privateApp = new App({ context, builtinCloudFormationValidation: false });
const privatePlatform = new PlatformStack(privateApp, 'TandemPlatform-eu-west-1', {
  env: { account: PLACEHOLDER_ACCOUNT, region: 'eu-west-1' },
  tableName: 'tandem',
  regions: DEFAULT_REGIONS,
  privateTasks: true,
});
const privateTemplate = Template.fromStack(privatePlatform);

/** The third configuration: HTTPS between CloudFront and the ALBs, under a domain with a hosted zone. */
const httpsApp = new App({ context, builtinCloudFormationValidation: false });
const httpsStacks = addTandemStacks(
  httpsApp,
  readConfig((key) => ({ domain: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' })[key], {}),
);
const httpsControl = Template.fromStack(httpsStacks.control);
const httpsPlatforms = Object.fromEntries(
  Object.entries(httpsStacks.platforms).map(([region, stack]) => [region, Template.fromStack(stack)]),
);
const templates = {
  TandemControl: control,
  ...platforms,
  PrivatePlatform: privateTemplate,
  HttpsControl: httpsControl,
  ...Object.fromEntries(Object.entries(httpsPlatforms).map(([region, t]) => [`HttpsPlatform-${region}`, t])),
};

const TAGGED = { StringEquals: { 'aws:RequestTag/tandem:managed-by': 'tandem' } };
/**
 * Every action that may name `*`, by its exact name (a pattern such as `Get*`
 * would let `secretsmanager:GetSecretValue` through), each because the Service
 * Authorization Reference gives it no resource type; with the condition it must
 * carry, or `null` for none.
 */
const ON_ANY_RESOURCE: Readonly<Record<string, Json | null>> = {
  // Changes, each justified.
  'ecs:DeregisterTaskDefinition': null, // takes effect only through a service in tandem's cluster
  'cloudfront:CreateDistribution': TAGGED, // only with tandem's tag
  // Reads and lists.
  'cloudfront:ListDistributions': null,
  'cloudwatch:GetMetricData': null,
  'ec2:DescribeManagedPrefixLists': null,
  'ecr:GetAuthorizationToken': null,
  'ecs:DescribeTaskDefinition': null,
  'ecs:ListTaskDefinitions': null,
  'elasticloadbalancing:DescribeRules': null,
  'elasticloadbalancing:DescribeTags': null,
  'elasticloadbalancing:DescribeTargetGroups': null,
  // The origin secret's rotation function: a random string, from no resource.
  'secretsmanager:GetRandomPassword': null,
};

/** The actions a statement allows on `*` that ON_ANY_RESOURCE does not, or not under that condition. */
function unjustifiedOnAnyResource(statement: Json): string[] {
  if (statement['Effect'] !== 'Allow' || !list(statement['Resource']).includes('*')) return [];
  return list(statement['Action'] as string | string[]).filter((action) => {
    const required = ON_ANY_RESOURCE[action];
    if (required === undefined) return true;
    return required !== null && JSON.stringify(statement['Condition']) !== JSON.stringify(required);
  });
}

type Json = Record<string, unknown>;
const resourcesOf = (template: Template, type: string) =>
  Object.values(template.findResources(type)) as Json[];
const props = (resource: Json) => resource['Properties'] as Json;
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

test('the defaults are the placeholder account, us-east-1 primary and eu-west-1 failover', () => {
  assert.equal(config.account, PLACEHOLDER_ACCOUNT);
  assert.deepEqual(config.regions, DEFAULT_REGIONS);
  assert.equal(config.controlRegion, 'us-east-1');
  assert.equal(config.tableName, 'tandem');
  assert.equal(config.privateTasks, false);
  assert.equal(config.imageReplication, true);
});

test('imageReplication is true or false, from context or TANDEM_IMAGE_REPLICATION', () => {
  assert.equal(readConfig((key) => ({ imageReplication: 'false' })[key], {}).imageReplication, false);
  assert.equal(readConfig((key) => ({ imageReplication: false })[key], {}).imageReplication, false);
  assert.equal(readConfig(() => undefined, { TANDEM_IMAGE_REPLICATION: 'FALSE' }).imageReplication, false);
  assert.equal(readConfig(() => undefined, { TANDEM_IMAGE_REPLICATION: 'true' }).imageReplication, true);
  assert.throws(
    () => readConfig(() => undefined, { TANDEM_IMAGE_REPLICATION: 'off' }),
    /imageReplication is "off": it is true or false/,
  );
});

test('privateTasks is true or false, from context or TANDEM_PRIVATE_TASKS', () => {
  assert.equal(readConfig((key) => ({ privateTasks: 'true' })[key], {}).privateTasks, true);
  assert.equal(readConfig((key) => ({ privateTasks: true })[key], {}).privateTasks, true);
  assert.equal(readConfig(() => undefined, { TANDEM_PRIVATE_TASKS: 'TRUE' }).privateTasks, true);
  assert.equal(readConfig(() => undefined, { TANDEM_PRIVATE_TASKS: 'false' }).privateTasks, false);
  assert.throws(
    () => readConfig(() => undefined, { TANDEM_PRIVATE_TASKS: 'yes' }),
    /privateTasks is "yes": it is true or false/,
  );
});

test('settings come from context first, then the environment', () => {
  const fromContext = readConfig((key) => ({ regions: 'eu-central-1, us-west-2' })[key], {
    TANDEM_REGIONS: 'ap-south-1',
    TANDEM_ACCOUNT: '111122223333',
  });
  assert.deepEqual(fromContext.regions, ['eu-central-1', 'us-west-2']);
  assert.equal(fromContext.controlRegion, 'eu-central-1');
  assert.equal(fromContext.account, '111122223333');
});

test('bad settings are all reported at once, each naming the setting', () => {
  assert.throws(
    () =>
      readConfig(() => undefined, {
        TANDEM_ACCOUNT: '12345',
        TANDEM_REGIONS: 'us-east-1,moon-1,us-east-1',
        TANDEM_DOMAIN: 'example.com',
        TANDEM_HOSTED_ZONE_ID: 'nope',
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const phrase of [
        'account is "12345"',
        '"moon-1", which is not an AWS region',
        'us-east-1 more than once',
        'hostedZoneId is "NOPE", which is not a Route 53 hosted zone id',
      ])
        assert.match(error.message, new RegExp(phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      return true;
    },
  );
});

test('domain and hostedZoneId come together, or not at all', () => {
  const read = (settings: Record<string, string>) => readConfig((key) => settings[key], {});
  assert.deepEqual(
    (({ domain, hostedZoneId }) => ({ domain, hostedZoneId }))(
      read({ domain: 'Example.com.', hostedZoneId: 'z0123456789abc' }),
    ),
    { domain: 'example.com', hostedZoneId: 'Z0123456789ABC' },
  );
  assert.throws(() => read({ domain: 'example.com' }), /domain is set without hostedZoneId/);
  assert.throws(() => read({ hostedZoneId: 'Z0123456789ABC' }), /hostedZoneId is set without domain/);
  assert.throws(
    () => read({ domain: 'not a domain', hostedZoneId: 'Z0123456789ABC' }),
    /domain is "not a domain", which is not a domain name/,
  );
});

test("the ALB's security groups admit only CloudFront's origin-facing prefix list: HTTP always, HTTPS in a group of its own with a domain; and Route 53's health checkers on 443 in a third, with a domain", () => {
  const all = [
    ...Object.entries(platforms),
    ...Object.entries(httpsPlatforms).map(([r, t]) => [`${r} https`, t] as const),
  ];
  for (const [region, template] of all) {
    const groups = template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('^tandem ALB') },
    });
    const lookup = Object.keys(template.findResources('Custom::AWS', prefixListLookup))[0];
    const healthCheckers = Object.keys(template.findResources('Custom::AWS', healthCheckerLookup(region)));
    const ports: number[] = [];
    for (const [id, group] of Object.entries(groups)) {
      const ingress = [
        ...list(props(group as Json)['SecurityGroupIngress'] as Json[] | undefined),
        ...resourcesOf(template, 'AWS::EC2::SecurityGroupIngress')
          .map(props)
          .filter((r) => JSON.stringify(r['GroupId']) === JSON.stringify({ 'Fn::GetAtt': [id, 'GroupId'] })),
      ];
      // A rule naming the prefix list counts as 55 of the group's 60: one per group at most.
      assert.ok(ingress.length <= 1, `${region}: at most one ingress rule in ${id}`);
      const [rule] = ingress;
      if (rule === undefined) continue;
      assert.equal(rule!['CidrIp'], undefined);
      assert.equal(rule!['CidrIpv6'], undefined);
      assert.equal(rule!['ToPort'], rule!['FromPort']);
      const source = id.startsWith('LoadBalancerHealthCheckSecurityGroup') ? healthCheckers[0] : lookup;
      assert.deepEqual(rule!['SourcePrefixListId'], { 'Fn::GetAtt': [source, 'PrefixLists.0.PrefixListId'] });
      ports.push(rule!['FromPort'] as number);
    }
    assert.deepEqual(ports, region.endsWith('https') ? [80, 443, 443] : [80], region);
    assert.equal(
      healthCheckers.length,
      region.endsWith('https') ? 1 : 0,
      `${region}: the health checkers' list`,
    );
    // The HTTP group is the same either way: a new description would replace it under the running ALB.
    assert.equal(
      props(Object.entries(groups).find(([id]) => id.startsWith('LoadBalancerSecurityGroup'))![1] as Json)[
        'GroupDescription'
      ],
      'tandem ALB: HTTP from CloudFront origin-facing addresses only',
    );
    const [balancer] = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').map(props);
    // All three groups with or without a domain: turning one on or off never changes the ALB.
    assert.equal(Object.keys(groups).length, 3, region);
    assert.equal(list(balancer!['SecurityGroups'] as Json[]).length, 3, `${region}: the ALB has all three`);
  }
});

const prefixListLookup = {
  Properties: { Create: Match.stringLikeRegexp('com\\.amazonaws\\.global\\.cloudfront\\.origin-facing') },
};
/** The lookup of Route 53's health checkers' managed prefix list in the stack's own region. */
const healthCheckerLookup = (region: string) => ({
  Properties: {
    Create: Match.stringLikeRegexp(
      `prefix-list-name.*com\\.amazonaws\\.${region.replace(/ https$/, '')}\\.route53-healthchecks`,
    ),
  },
});
test('the prefix list id is looked up by its managed name, in its own region, at deploy time', () => {
  for (const template of Object.values(platforms)) {
    // The platform item, the prefix list lookup and the stream lookup.
    template.resourceCountIs('Custom::AWS', 3);
    template.hasResourceProperties('Custom::AWS', {
      Update: Match.stringLikeRegexp('describeManagedPrefixLists.*prefix-list-name'),
    });
    assert.equal(Object.keys(template.findResources('Custom::AWS', prefixListLookup)).length, 1);
  }
});

test("the tasks' security group admits only the ALB", () => {
  for (const template of Object.values(platforms)) {
    const tasks = Object.keys(
      template.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: 'tandem tasks: from the ALB only' },
      }),
    )[0]!;
    const group = template.findResources('AWS::EC2::SecurityGroup')[tasks] as Json;
    assert.equal(props(group)['SecurityGroupIngress'], undefined);
    const ingress = resourcesOf(template, 'AWS::EC2::SecurityGroupIngress').filter(
      (r) => JSON.stringify(props(r)['GroupId']) === JSON.stringify({ 'Fn::GetAtt': [tasks, 'GroupId'] }),
    );
    assert.equal(ingress.length, 1);
    assert.ok(
      JSON.stringify(props(ingress[0]!)['SourceSecurityGroupId']).includes('LoadBalancerSecurityGroup'),
    );
  }
});

test("the listener's default action refuses with 403", () => {
  for (const template of Object.values(platforms)) {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) },
      ],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Name: 'tandem',
    });
  }
});

test("the HTTP listener has the same logical id with and without a domain, so turning one on or off never replaces it (nor deletes the reconciler's rules on it)", () => {
  for (const region of DEFAULT_REGIONS) {
    const httpListeners = (template: Template) =>
      Object.keys(
        template.findResources('AWS::ElasticLoadBalancingV2::Listener', {
          Properties: { Port: 80, Protocol: 'HTTP' },
        }),
      );
    const without = httpListeners(platforms[region]!);
    assert.equal(without.length, 1, region);
    assert.deepEqual(httpListeners(httpsPlatforms[region]!), without, region);
    for (const template of [platforms[region]!, httpsPlatforms[region]!])
      assert.equal(
        /[^s]listenerArn\W+Ref\W+(\w+)/.exec(platformDocument(template))?.[1],
        without[0],
        'the item names the HTTP listener',
      );
    assert.doesNotMatch(
      platformDocument(platforms[region]!),
      /httpsListenerArn/,
      'without a domain the item claims no HTTPS',
    );
  }
});

test('turning the domain off deletes the HTTPS listener, certificate, records, 443 rules, health check and health rules only after the drain, which waits until no distribution uses the origin name or a failover name', () => {
  for (const [region, template] of Object.entries(httpsPlatforms)) {
    const drains = template.findResources('Custom::TandemHttpsDrain');
    assert.equal(Object.keys(drains).length, 1, region);
    const [drain] = Object.values(drains) as Json[];
    assert.equal(props(drain!)['OriginName'], `origin-${region}.example.com`);
    assert.deepEqual(props(drain!)['FailoverNames'], [
      'us-east-1.failover.example.com',
      'eu-west-1.failover.example.com',
    ]);
    // Depending on them, it is deleted first, and they only once its handler has answered.
    const dependsOn = list(drain!['DependsOn'] as string[] | undefined);
    for (const type of [
      'AWS::ElasticLoadBalancingV2::Listener',
      'AWS::CertificateManager::Certificate',
      'AWS::Route53::RecordSet',
      'AWS::EC2::SecurityGroupIngress',
    ])
      for (const id of Object.keys(template.findResources(type)).filter(
        (id) =>
          (type !== 'AWS::EC2::SecurityGroupIngress' || id.startsWith('OriginHttpsIngress')) &&
          (type !== 'AWS::ElasticLoadBalancingV2::Listener' || id.includes('Https')),
      ))
        assert.ok(dependsOn.includes(id), `${region}: the drain guards ${id}`);
    for (const type of ['AWS::Route53::HealthCheck', 'AWS::ElasticLoadBalancingV2::ListenerRule'])
      for (const id of Object.keys(template.findResources(type)))
        assert.ok(dependsOn.includes(id), `${region}: the drain guards ${id}`);
    assert.ok(
      dependsOn.includes('HealthCheckHttpsIngress'),
      `${region}: the drain guards the health checkers' rule`,
    );
    // Its function may only list distributions and write its own logs.
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^tandem: waits until') },
      }),
    ) as Json[];
    assert.equal(fn.length, 1);
    const role = (props(fn[0]!)['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const actions = resourcesOf(template, 'AWS::IAM::Policy')
      .map(props)
      .filter((p) => list(p['Roles'] as Json[]).some((r) => r['Ref'] === role))
      .flatMap((p) => list((p['PolicyDocument'] as Json)['Statement'] as Json[]))
      .flatMap((st) => actionsOf(st));
    assert.deepEqual([...new Set(actions)].sort(), [
      'cloudfront:ListDistributions',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  }
  for (const template of Object.values(platforms))
    assert.deepEqual(template.findResources('Custom::TandemHttpsDrain'), {}, 'without a domain, none');
});

test('with domain and hostedZoneId, CloudFront reaches each ALB over HTTPS at origin-<region>.<domain>', () => {
  for (const [region, template] of Object.entries(httpsPlatforms)) {
    const name = `origin-${region}.example.com`;
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: Match.stringLikeRegexp('^ELBSecurityPolicy-TLS13'),
      Certificates: [{ CertificateArn: Match.anyValue() }],
      DefaultActions: [
        { Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) },
      ],
    });
    // Every region's failover name too: while a region is down, its name leads to this ALB.
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: name,
      SubjectAlternativeNames: ['*.failover.example.com'],
      ValidationMethod: 'DNS',
      DomainValidationOptions: [
        { DomainName: name, HostedZoneId: 'Z0123456789ABCDEFGHIJ' },
        { DomainName: '*.failover.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' },
      ],
    });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `${name}.`,
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
      Failover: Match.absent(),
    });
    const item = resourcesOf(template, 'Custom::AWS')
      .map((r) => sdkCall(props(r)['Create']))
      .find((call) => call['action'] === 'putItem')!;
    const { Item } = item['parameters'] as { Item: Record<string, Json> };
    const document = JSON.parse(String(Item['document']!['S'])) as Json;
    assert.equal(
      document['httpsOriginName'],
      name,
      'over HTTPS the CDN uses the name the certificate covers',
    );
    assert.match(
      platformDocument(template),
      /loadBalancerDnsName\W+Fn::GetAtt\W+LoadBalancer\w+\W+DNSName/,
      "over HTTP, the ALB's own name, which does not go with the domain",
    );
    const [https] = Object.keys(
      template.findResources('AWS::ElasticLoadBalancingV2::Listener', { Properties: { Port: 443 } }),
    );
    assert.equal(
      /httpsListenerArn\W+Ref\W+(\w+)/.exec(platformDocument(template))?.[1],
      https,
      'the item names the HTTPS listener',
    );
    // The item is written only once the listener, its certificate, its name and the 443 rule exist.
    const itemId = Object.entries(template.findResources('Custom::AWS')).find(
      ([, r]) => sdkCall(props(r as Json)['Create'])['action'] === 'putItem',
    )![0];
    const dependsOn = list(template.toJSON()['Resources'][itemId]['DependsOn'] as string[] | undefined);
    for (const type of [
      'AWS::ElasticLoadBalancingV2::Listener',
      'AWS::CertificateManager::Certificate',
      'AWS::Route53::RecordSet',
      'AWS::EC2::SecurityGroupIngress',
    ])
      for (const id of Object.keys(template.findResources(type)).filter(
        (id) => type !== 'AWS::EC2::SecurityGroupIngress' || id.startsWith('OriginHttpsIngress'),
      ))
        assert.ok(dependsOn.includes(id), `${region}: the platform item waits for ${id}`);
  }
  const settings = (template: Template) =>
    resourcesOf(template, 'Custom::AWS')
      .map((r) => sdkCall(props(r)['Create']))
      .map((call) => (call['parameters'] as { Item?: Record<string, Json> }).Item)
      .find((item) => JSON.stringify(item?.['sk']) === JSON.stringify({ S: 'settings' }))!;
  const protocol = (template: Template) =>
    (JSON.parse(String(settings(template)['document']!['S'])) as Json)['originProtocol'];
  assert.equal(protocol(httpsControl), 'https-only');
  assert.equal(protocol(control), 'http-only', 'without a domain, HTTP');
});

/** The resource ids of `type` in `template` (optionally only those whose id starts with `prefix`). */
const idsOf = (template: Template, type: string, prefix = '') =>
  Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
const dependsOnOf = (template: Template, id: string) =>
  list(template.toJSON()['Resources'][id]['DependsOn'] as string[] | undefined);
const platformItemId = (template: Template) =>
  Object.entries(template.findResources('Custom::AWS')).find(
    ([, r]) => sdkCall(props(r as Json)['Create'])['action'] === 'putItem',
  )![0];

test('with a domain, each ALB answers GET /.tandem/health with a fixed 200 on both listeners, at the priority the reconciler never takes, and on nothing else', () => {
  for (const [region, template] of Object.entries(httpsPlatforms)) {
    const rules = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(props);
    assert.equal(rules.length, 2, region);
    assert.deepEqual(
      rules
        .map((rule) => rule['ListenerArn'])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      idsOf(template, 'AWS::ElasticLoadBalancingV2::Listener')
        .map((id) => ({ Ref: id }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      `${region}: one on each listener`,
    );
    for (const rule of rules)
      assert.deepEqual(
        { ...rule, ListenerArn: undefined },
        {
          ListenerArn: undefined,
          Priority: HEALTH_RULE_PRIORITY,
          // No header condition: Route 53's health checkers cannot send the origin secret.
          Conditions: [
            { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET'] } },
            { Field: 'path-pattern', PathPatternConfig: { Values: [HEALTH_CHECK_PATH] } },
          ],
          Actions: [
            {
              Type: 'fixed-response',
              FixedResponseConfig: {
                StatusCode: '200',
                ContentType: 'text/plain',
                MessageBody: HEALTH_CHECK_BODY,
              },
            },
          ],
        },
      );
  }
  // The last priority an ALB allows: existing deployments' site rules hold the low ones.
  assert.equal(HEALTH_RULE_PRIORITY, 50_000);
  for (const template of [...Object.values(platforms), privateTemplate])
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
});

test("with a domain, a Route 53 health check asks each region's ALB for the health path over HTTPS at origin-<region>.<domain>, once the path can answer", () => {
  for (const [region, template] of Object.entries(httpsPlatforms)) {
    const checks = template.findResources('AWS::Route53::HealthCheck');
    assert.equal(Object.keys(checks).length, 1, region);
    const [id, check] = Object.entries(checks)[0] as [string, Json];
    assert.deepEqual(props(check!)['HealthCheckConfig'] as Json, {
      Type: 'HTTPS',
      FullyQualifiedDomainName: `origin-${region}.example.com`,
      Port: 443,
      EnableSNI: true,
      ResourcePath: HEALTH_CHECK_PATH,
      RequestInterval: ROUTE53_FAILOVER.intervalSeconds,
      FailureThreshold: ROUTE53_FAILOVER.failureThreshold,
      Inverted: false,
      MeasureLatency: false,
    });
    assert.deepEqual(
      dependsOnOf(template, id!).sort(),
      [
        ...idsOf(template, 'AWS::ElasticLoadBalancingV2::ListenerRule'),
        ...idsOf(template, 'AWS::ElasticLoadBalancingV2::Listener', 'LoadBalancerHttps'),
        ...idsOf(template, 'AWS::Route53::RecordSet', 'OriginRecord'),
        'HealthCheckHttpsIngress',
      ].sort(),
      `${region}: checked only once the rules, the listener, the name and the 443 rule exist`,
    );
  }
  for (const template of Object.values(platforms)) template.resourceCountIs('AWS::Route53::HealthCheck', 0);
});

/** The failover records of each region's stack: name, role, set identifier, and that it points at that stack's own ALB. */
function failoverRecords(templates: Record<string, Template>) {
  return Object.entries(templates).flatMap(([region, template]) => {
    const [balancer] = idsOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    const [check] = idsOf(template, 'AWS::Route53::HealthCheck');
    return resourcesOf(template, 'AWS::Route53::RecordSet')
      .map(props)
      .filter((record) => record['Failover'] !== undefined)
      .map((record) => {
        const alias = record['AliasTarget'] as Json;
        assert.deepEqual(alias['EvaluateTargetHealth'], false, 'the health check alone decides');
        assert.deepEqual(alias['HostedZoneId'], { 'Fn::GetAtt': [balancer, 'CanonicalHostedZoneID'] });
        assert.match(
          JSON.stringify(alias['DNSName']),
          new RegExp(`"Fn::GetAtt":\\["${balancer}","DNSName"\\]`),
        );
        assert.deepEqual(record['HealthCheckId'], { Ref: check }, "this stack's own health check");
        assert.equal(record['HostedZoneId'], 'Z0123456789ABCDEFGHIJ');
        assert.equal(record['Type'], 'A');
        return {
          stack: region,
          name: record['Name'] as string,
          failover: record['Failover'] as string,
          setIdentifier: record['SetIdentifier'] as string,
        };
      });
  });
}

test("with a domain, each stack writes only records that point at its own ALB: its region's failover name as PRIMARY, and as SECONDARY the names of the regions it backs up", () => {
  const byName = (records: ReturnType<typeof failoverRecords>) =>
    records.sort((a, b) => (a.name + a.failover).localeCompare(b.name + b.failover));
  // Each region's name: PRIMARY in its own stack, SECONDARY in the stack of the region backing it up.
  const twoRegions = [
    {
      stack: 'eu-west-1',
      name: 'eu-west-1.failover.example.com.',
      failover: 'PRIMARY',
      setIdentifier: 'eu-west-1',
    },
    {
      stack: 'us-east-1',
      name: 'eu-west-1.failover.example.com.',
      failover: 'SECONDARY',
      setIdentifier: 'us-east-1',
    },
    {
      stack: 'us-east-1',
      name: 'us-east-1.failover.example.com.',
      failover: 'PRIMARY',
      setIdentifier: 'us-east-1',
    },
    {
      stack: 'eu-west-1',
      name: 'us-east-1.failover.example.com.',
      failover: 'SECONDARY',
      setIdentifier: 'eu-west-1',
    },
  ];
  assert.deepEqual(byName(failoverRecords(httpsPlatforms)), twoRegions);

  // With three regions each name still has one secondary (a failover record set has one): the
  // primary region backs up the others, the second region the primary.
  assert.deepEqual(
    THREE_REGIONS.map((r) => failoverBackupRegion(r, THREE_REGIONS)),
    ['eu-west-1', 'us-east-1', 'us-east-1'],
  );
  assert.equal(failoverBackupRegion('us-east-1', ['us-east-1']), undefined);
  const threeApp = new App({ context, builtinCloudFormationValidation: false });
  // Two of the three stacks (the offline context has availability zones for these two), both made before either is synthesized.
  const threeStacks = ['us-east-1', 'eu-west-1'].map(
    (region) =>
      new PlatformStack(threeApp, `TandemPlatform-${region}`, {
        env: { account: PLACEHOLDER_ACCOUNT, region },
        tableName: 'tandem',
        regions: THREE_REGIONS,
        origin: { domain: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
      }),
  );
  const three = Object.fromEntries(threeStacks.map((stack) => [stack.region, Template.fromStack(stack)]));
  assert.deepEqual(byName(failoverRecords(three)), [
    {
      stack: 'us-east-1',
      name: 'ap-southeast-2.failover.example.com.',
      failover: 'SECONDARY',
      setIdentifier: 'us-east-1',
    },
    ...twoRegions,
  ]);
  for (const template of Object.values(platforms)) assert.deepEqual(failoverRecords({ x: template }), []);
});

test("with a domain, the platform item names the region's failover name only once the certificate covering it, the records, the health check, the health rules and the health checkers' rule exist; without, it names none", () => {
  for (const [region, template] of Object.entries(httpsPlatforms)) {
    const put = resourcesOf(template, 'Custom::AWS')
      .map((r) => sdkCall(props(r)['Create']))
      .find((call) => call['action'] === 'putItem')!;
    const { Item } = put['parameters'] as { Item: Record<string, Json> };
    const document = JSON.parse(String(Item['document']!['S'])) as Json;
    assert.equal(document['failoverOriginName'], `${region}.failover.example.com`);
    // The health check's id (a reference to it), for the dashboard's graph of it.
    assert.equal(document['healthCheckId'], '<ref>');
    const [healthCheck] = idsOf(template, 'AWS::Route53::HealthCheck');
    const creates = resourcesOf(template, 'Custom::AWS').map((r) => JSON.stringify(props(r)['Create']));
    assert.ok(
      creates.some((c) => c.includes('putItem') && c.includes(`{"Ref":"${healthCheck}"}`)),
      `${region}: the item refers to ${healthCheck}`,
    );
    const dependsOn = dependsOnOf(template, platformItemId(template));
    for (const id of [
      ...idsOf(template, 'AWS::CertificateManager::Certificate'),
      ...idsOf(template, 'AWS::Route53::RecordSet', 'FailoverRecord'),
      ...idsOf(template, 'AWS::Route53::HealthCheck'),
      ...idsOf(template, 'AWS::ElasticLoadBalancingV2::ListenerRule'),
      'HealthCheckHttpsIngress',
    ])
      assert.ok(dependsOn.includes(id), `${region}: the platform item waits for ${id}`);
    assert.equal(idsOf(template, 'AWS::Route53::RecordSet', 'FailoverRecord').length, 2);
  }
  for (const template of Object.values(platforms))
    assert.ok(!platformDocument(template).includes('failoverOriginName'));
});

test('each region has a VPC over 2 AZs with no NAT gateway, and a Fargate cluster with Container Insights', () => {
  for (const template of Object.values(platforms)) {
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'tandem',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/tandem/sites',
      RetentionInDays: 30,
    });
  }
});

/** A custom resource's call with every CloudFormation reference replaced by `<ref>`. */
function platformDocument(template: Template): string {
  const put = resourcesOf(template, 'Custom::AWS')
    .map((r) => props(r)['Create'])
    .find((create) => create !== undefined && sdkCall(create)['action'] === 'putItem');
  // The call as written, references included: they name the subnets.
  return JSON.stringify(put);
}

function sdkCall(property: unknown): Json {
  const join = (property as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const text =
    join === undefined
      ? String(property)
      : join[1].map((part) => (typeof part === 'string' ? part : '<ref>')).join(join[0]);
  return JSON.parse(text) as Json;
}

test('each region writes its own platform item into its table replica, with every RegionPlatform field', () => {
  for (const [region, template] of Object.entries(platforms)) {
    const items = resourcesOf(template, 'Custom::AWS')
      .map((r) => sdkCall(props(r)['Create']))
      .filter((call) => call['action'] === 'putItem');
    assert.equal(items.length, 1);
    const { TableName, Item } = items[0]!['parameters'] as { TableName: string; Item: Record<string, Json> };
    assert.equal(TableName, 'tandem');
    assert.deepEqual([Item['pk'], Item['sk']], [{ S: 'platform' }, { S: region }]);
    const document = JSON.parse(String(Item['document']!['S'])) as Json;
    assert.deepEqual(Object.keys(document).sort(), [
      'assignPublicIp',
      'cluster',
      'executionRoleArn',
      'listenerArn',
      'loadBalancerArn',
      'loadBalancerDnsName',
      'logGroup',
      'region',
      'securityGroups',
      'subnets',
      'taskRoleArn',
      'vpcId',
    ]);
    assert.equal(document['region'], region);
    assert.equal(document['assignPublicIp'], true);
    assert.equal((document['subnets'] as string[]).length, 2);
    // The region's own ARN for the table: its replica, never another region's stack.
    const policy = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.match(policy, new RegExp(`dynamodb:${region}:${PLACEHOLDER_ACCOUNT}:table/tandem`));
    assert.ok(!JSON.stringify(template.toJSON()).includes('Fn::ImportValue'), 'no cross-stack import');
  }
});

test('the table has point-in-time recovery, encryption, deletion protection and a replica per region', () => {
  control.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    TableName: 'tandem',
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    SSESpecification: { SSEEnabled: true },
  });
  const table = resourcesOf(control, 'AWS::DynamoDB::GlobalTable')[0]!;
  const replicas = props(table)['Replicas'] as Json[];
  assert.deepEqual(replicas.map((r) => r['Region']).sort(), [...DEFAULT_REGIONS].sort());
  for (const replica of replicas) {
    assert.equal(replica['DeletionProtectionEnabled'], true);
    assert.deepEqual(replica['PointInTimeRecoverySpecification'], { PointInTimeRecoveryEnabled: true });
  }
});

test('the origin secret is generated by Secrets Manager, never written in the template', () => {
  control.hasResourceProperties('AWS::SecretsManager::Secret', {
    GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
    SecretString: Match.absent(),
  });
  const settings = JSON.stringify(control.findResources('Custom::AWS'));
  assert.match(settings, /originHeaderName.*X-Tandem-Origin.*originProtocol.*http-only.*originSecretArn/);
});

test('the origin secret rotates every 30 days by default (originSecretRotationDays), with a function only Secrets Manager invokes', () => {
  control.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
    RotationRules: { ScheduleExpression: 'rate(30 days)' },
  });
  const [id, fn] = Object.entries(
    control.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x' } }),
  ).find(([, r]) => /rotates the origin secret/.test(String(props(r as Json)['Description'])))!;
  const code = String(((props(fn as Json)['Code'] as Json)['ZipFile'] as string | undefined) ?? '');
  assert.ok(
    code.length > 0 && code.length < 4096,
    `inline code under CloudFormation's 4 KB (${code.length})`,
  );
  const invokers = resourcesOf(control, 'AWS::Lambda::Permission')
    .map(props)
    .filter((p) => JSON.stringify(p['FunctionName']).includes(id));
  assert.deepEqual(
    invokers.map((p) => p['Principal']),
    ['secretsmanager.amazonaws.com'],
  );

  const every7 = new App({ context, builtinCloudFormationValidation: false });
  const stacks7 = addTandemStacks(
    every7,
    readConfig((k) => (k === 'originSecretRotationDays' ? '7' : undefined), {}),
  );
  Template.fromStack(stacks7.control).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
    RotationRules: { ScheduleExpression: 'rate(7 days)' },
  });
  for (const bad of ['0', '1001', '2.5', 'weekly'])
    assert.throws(
      () => readConfig((k) => (k === 'originSecretRotationDays' ? bad : undefined), {}),
      new RegExp(
        `originSecretRotationDays is "${bad.replace('.', '\\.')}": it is a whole number of days from 1 to 1000`,
      ),
    );
});

/** A resource's value with `${AWS::Partition}` as `aws`, a GetAtt as `<GetAtt:Id>` and any other reference as `<ref>`. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v['Ref'] === 'AWS::Partition') return 'aws';
  if (v['Fn::GetAtt'] !== undefined) return `<GetAtt:${(v['Fn::GetAtt'] as string[])[0]}>`;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map(flat).join(join[0]);
  return '<ref>';
}

const NODE_FUNCTION = { Properties: { Runtime: 'nodejs22.x', FunctionName: 'tandem-reconciler' } };
/** The reconciler function in a template: its logical id and properties. */
function reconcilerOf(template: Template): [string, Json] {
  const functions = Object.entries(template.findResources('AWS::Lambda::Function', NODE_FUNCTION));
  assert.equal(functions.length, 1, 'one reconciler function');
  return [functions[0]![0], props(functions[0]![1] as Json)];
}
/** Every statement of the policies on the reconciler's role. */
function reconcilerStatements(template: Template): Json[] {
  const [, fn] = reconcilerOf(template);
  const role = (fn['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return resourcesOf(template, 'AWS::IAM::Policy')
    .map(props)
    .filter((p) => list(p['Roles'] as Json[]).some((r) => r['Ref'] === role))
    .flatMap((p) => list((p['PolicyDocument'] as Json)['Statement'] as Json[]));
}
const actionsOf = (statement: Json) => list(statement['Action'] as string | string[]);
const arnsOf = (statement: Json) => list(statement['Resource']).map(flat);
/** The schedule's period in seconds, from a `rate(n unit)` expression. */
function periodSeconds(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
  assert.ok(m !== null, `a rate expression: ${expression}`);
  return Number(m[1]) * (m[2]!.startsWith('minute') ? 60 : 3600);
}

test('each region runs its own reconciler: Node.js 22 on arm64, one at a time, told its table, its region and every region', () => {
  for (const [region, template] of Object.entries(platforms)) {
    const [, fn] = reconcilerOf(template);
    assert.equal(fn['FunctionName'], 'tandem-reconciler');
    assert.deepEqual(fn['Architectures'], ['arm64']);
    assert.equal(fn['ReservedConcurrentExecutions'], 1);
    assert.match(
      String(list(fn['Layers'] as string[])[0]),
      /AWS-Parameters-and-Secrets-Lambda-Extension-Arm64/,
    );
    assert.match(String(list(fn['Layers'] as string[])[0]), new RegExp(`^arn:aws:lambda:${region}:`));
    const env = (fn['Environment'] as { Variables: Record<string, string> }).Variables;
    assert.deepEqual(
      {
        TANDEM_TABLE: env['TANDEM_TABLE'],
        TANDEM_REGION: env['TANDEM_REGION'],
        TANDEM_REGIONS: env['TANDEM_REGIONS'],
        NODE_OPTIONS: env['NODE_OPTIONS'],
      },
      {
        TANDEM_TABLE: 'tandem',
        TANDEM_REGION: region,
        TANDEM_REGIONS: 'us-east-1,eu-west-1',
        NODE_OPTIONS: '--enable-source-maps',
      },
    );
    assert.equal(env['TANDEM_CONTROL_REGION'], undefined, 'no control region any more');
  }
});

test('the control stack runs no reconciler, no schedule and no alarm: every one is regional', () => {
  assert.deepEqual(control.findResources('AWS::Lambda::Function', NODE_FUNCTION), {});
  control.resourceCountIs('AWS::Events::Rule', 0);
  control.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  control.resourceCountIs('AWS::SNS::Topic', 0);
  control.resourceCountIs('AWS::SQS::Queue', 0);
});

test("each region's reconciler runs on its own one-minute schedule, with no retries and its own failure queue", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const [id, fn] = reconcilerOf(template);
    const rules = resourcesOf(template, 'AWS::Events::Rule').map(props);
    assert.equal(rules.length, 1, region);
    assert.equal(periodSeconds(String(rules[0]!['ScheduleExpression'])), 60);
    const targets = rules[0]!['Targets'] as Json[];
    assert.deepEqual(
      targets.map((t) => [t['Arn'], t['RetryPolicy']]),
      [[{ 'Fn::GetAtt': [id, 'Arn'] }, { MaximumRetryAttempts: 0 }]],
    );
    assert.ok((fn['Timeout'] as number) < 60, 'the timeout is under the schedule period');
    const invoke = resourcesOf(template, 'AWS::Lambda::EventInvokeConfig').map(props);
    assert.equal(invoke.length, 1);
    assert.deepEqual(invoke[0]!['FunctionName'], { Ref: id });
    assert.equal(invoke[0]!['MaximumRetryAttempts'], 0);
    const queue = Object.keys(template.findResources('AWS::SQS::Queue'));
    assert.equal(queue.length, 1);
    assert.deepEqual(invoke[0]!['DestinationConfig'], {
      OnFailure: { Destination: { 'Fn::GetAtt': [queue[0], 'Arn'] } },
    });
  }
});

test('a tick that waits in the queue expires within one schedule period instead of running late', () => {
  for (const template of Object.values(platforms)) {
    const period = periodSeconds(
      String(resourcesOf(template, 'AWS::Events::Rule').map(props)[0]!['ScheduleExpression']),
    );
    const age = resourcesOf(template, 'AWS::Lambda::EventInvokeConfig').map(props)[0]![
      'MaximumEventAgeInSeconds'
    ];
    // Lambda accepts no less than 60 seconds: one period is the shortest expiry there is.
    assert.equal(typeof age, 'number', 'set, not the six-hour default');
    assert.ok((age as number) <= period, `${String(age)} s is at most the ${period} s period`);
  }
});

test("spec edits wake each region's reconciler: its replica's stream, filtered to spec items, with bounded retries and age", () => {
  const table = props(resourcesOf(control, 'AWS::DynamoDB::GlobalTable')[0]!);
  assert.deepEqual(table['StreamSpecification'], { StreamViewType: 'NEW_AND_OLD_IMAGES' });
  for (const [region, template] of Object.entries(platforms)) {
    const [id] = reconcilerOf(template);
    const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').map(props);
    assert.equal(mappings.length, 1, region);
    const mapping = mappings[0]!;
    assert.deepEqual(mapping['FunctionName'], { Ref: id });
    assert.equal(mapping['StartingPosition'], 'LATEST');
    assert.equal(mapping['ParallelizationFactor'], 1);
    assert.equal(mapping['MaximumRetryAttempts'], 5);
    assert.equal(
      mapping['MaximumRecordAgeInSeconds'],
      60,
      'one schedule period: the safety net has run by then',
    );
    assert.equal(mapping['BisectBatchOnFunctionError'], false);
    const filters = (mapping['FilterCriteria'] as { Filters: { Pattern: string }[] }).Filters;
    assert.deepEqual(
      filters.map((f) => JSON.parse(f.Pattern) as unknown),
      [{ dynamodb: { Keys: { pk: { S: ['spec'] } } } }],
    );
    // The stream's ARN is this region's replica's, read from DynamoDB in this region at deploy time.
    const [describeId, describe] = Object.entries(template.findResources('Custom::AWS')).find(([, r]) =>
      JSON.stringify(r).includes('describeTable'),
    )!;
    assert.deepEqual(mapping['EventSourceArn'], { 'Fn::GetAtt': [describeId, 'Table.LatestStreamArn'] });
    const create = JSON.stringify(props(describe as Json)['Create']);
    assert.match(create, /"TableName\\?":\\?"tandem/);
    // Least privilege: the four stream actions, on this replica's streams only.
    const stream = reconcilerStatements(template).filter((st) =>
      actionsOf(st).some((a) => a === 'dynamodb:GetRecords'),
    );
    assert.deepEqual(
      stream.map((st) => [actionsOf(st).sort(), arnsOf(st)]),
      [
        [
          [
            'dynamodb:DescribeStream',
            'dynamodb:GetRecords',
            'dynamodb:GetShardIterator',
            'dynamodb:ListStreams',
          ],
          [`arn:aws:dynamodb:${region}:${PLACEHOLDER_ACCOUNT}:table/tandem/stream/*`],
        ],
      ],
    );
  }
});

test("each reconciler's DynamoDB, ECS, ELB and Secrets Manager permissions name its own region and no other", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const regional = reconcilerStatements(template).filter((st) =>
      actionsOf(st).some((a) => /^(dynamodb|ecs|elasticloadbalancing|secretsmanager):/.test(a)),
    );
    assert.ok(regional.length > 0);
    for (const statement of regional)
      for (const arn of arnsOf(statement))
        assert.ok(arn === '*' || arn.split(':')[3] === region, `${actionsOf(statement).join(',')} on ${arn}`);
    const everything = JSON.stringify(reconcilerStatements(template).map(arnsOf));
    for (const other of DEFAULT_REGIONS.filter((r) => r !== region))
      assert.ok(!everything.includes(`:${other}:`), `${region}'s reconciler names nothing in ${other}`);

    // The table's items (the stream's read is checked with the event source mapping).
    const dynamo = regional.filter(
      (st) =>
        actionsOf(st).some((a) => a.startsWith('dynamodb:')) &&
        !actionsOf(st).includes('dynamodb:GetRecords'),
    );
    const replica = [`arn:aws:dynamodb:${region}:${PLACEHOLDER_ACCOUNT}:table/tandem`];
    assert.deepEqual(
      dynamo.map((st) => [actionsOf(st).sort(), arnsOf(st)]),
      [
        [['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:Query'], replica],
        [['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], replica],
      ],
    );
  }
});

test("each reconciler may read only its own region's replica of the origin secret the control stack replicates", () => {
  const secret = resourcesOf(control, 'AWS::SecretsManager::Secret').map(props);
  assert.equal(secret.length, 1);
  const name = String(secret[0]!['Name']);
  for (const [region, template] of Object.entries(platforms)) {
    const reads = reconcilerStatements(template).filter((st) =>
      actionsOf(st).some((a) => a.startsWith('secretsmanager:')),
    );
    assert.deepEqual(
      reads.map((st) => [actionsOf(st), arnsOf(st)]),
      [
        [
          ['secretsmanager:GetSecretValue'],
          // Secrets Manager appends six random characters to the name; a replica keeps them.
          [`arn:aws:secretsmanager:${region}:${PLACEHOLDER_ACCOUNT}:secret:${name}-??????`],
        ],
      ],
    );
  }
});

test("each reconciler may pass only its own region's task and execution roles, and only to ECS tasks", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const pass = reconcilerStatements(template).filter((st) => actionsOf(st).includes('iam:PassRole'));
    assert.equal(pass.length, 1);
    assert.deepEqual(pass[0]!['Condition'], {
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
    const roleNames = Object.fromEntries(
      Object.entries(template.findResources('AWS::IAM::Role')).map(([id, r]) => [
        `<GetAtt:${id}>`,
        props(r as Json)['RoleName'],
      ]),
    );
    assert.deepEqual(
      arnsOf(pass[0]!)
        .map((arn) => roleNames[arn])
        .sort(),
      [`tandem-task-execution-${region}`, `tandem-task-${region}`].sort(),
    );
  }
});

test('each reconciler keeps the global duties: CloudFront distributions, the tandem-sites dashboard, metrics', () => {
  for (const template of Object.values(platforms)) {
    const statements = reconcilerStatements(template);
    const on = (action: string) => statements.filter((st) => actionsOf(st).includes(action)).flatMap(arnsOf);
    for (const action of ['cloudfront:UpdateDistribution', 'cloudfront:DeleteDistribution'])
      assert.deepEqual(on(action), [`arn:aws:cloudfront::${PLACEHOLDER_ACCOUNT}:distribution/*`], action);
    // CreateDistribution has no resource type: `*`, with tandem's tag in the request.
    assert.deepEqual(on('cloudfront:CreateDistribution'), ['*']);
    for (const action of ['cloudwatch:GetDashboard', 'cloudwatch:PutDashboard'])
      assert.deepEqual(
        on(action),
        [`arn:aws:cloudwatch::${PLACEHOLDER_ACCOUNT}:dashboard/tandem-sites`],
        action,
      );
    assert.deepEqual(on('cloudwatch:GetMetricData'), ['*']);
  }
});

test('a reconciler refuses a stack whose region its regions do not list', () => {
  const stack = new Stack(new App(), 'Elsewhere', {
    env: { account: PLACEHOLDER_ACCOUNT, region: 'ap-south-1' },
  });
  assert.throws(
    () =>
      new Reconciler(stack, 'Reconciler', {
        tableName: 'tandem',
        regions: DEFAULT_REGIONS,
        alarmTopic: new sns.Topic(stack, 'Topic'),
        taskRoles: [],
      }),
    /regions \(us-east-1, eu-west-1\) must include the stack's region ap-south-1/,
  );
});

/** The control stack alone (no bundle): a third region, a single one, and image replication off. */
const controlOnly = (regions: string[], imageReplication?: boolean) =>
  Template.fromStack(
    new ControlStack(new App({ context, builtinCloudFormationValidation: false }), 'TandemControl', {
      env: { account: PLACEHOLDER_ACCOUNT, region: regions[0]! },
      tableName: 'tandem',
      regions,
      ...(imageReplication === undefined ? {} : { imageReplication }),
    }),
  );
const THREE_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

test('the origin secret is replicated to every region but the primary', () => {
  const replicaRegions = (template: Template) =>
    list(resourcesOf(template, 'AWS::SecretsManager::Secret').map(props)[0]!['ReplicaRegions'] as Json[]).map(
      (r) => r['Region'],
    );
  assert.deepEqual(replicaRegions(control), ['eu-west-1']);
  assert.deepEqual(replicaRegions(controlOnly(THREE_REGIONS)), ['eu-west-1', 'ap-southeast-2']);
  assert.deepEqual(replicaRegions(controlOnly(['eu-central-1'])), []);
});

test("ECR replicates tandem/ repositories from the primary's registry to every other region's, in this account", () => {
  const rules = (template: Template) =>
    resourcesOf(template, 'AWS::ECR::ReplicationConfiguration').flatMap(
      (r) => (props(r)['ReplicationConfiguration'] as { Rules: Json[] }).Rules,
    );
  for (const [template, destinations] of [
    [control, ['eu-west-1']],
    [controlOnly(THREE_REGIONS), ['eu-west-1', 'ap-southeast-2']],
  ] as const) {
    const [rule, ...more] = rules(template);
    assert.equal(more.length, 0, 'one rule');
    assert.deepEqual(
      rule!['Destinations'],
      destinations.map((Region) => ({ Region, RegistryId: PLACEHOLDER_ACCOUNT })),
    );
    assert.deepEqual(rule!['RepositoryFilters'], [{ Filter: 'tandem/', FilterType: 'PREFIX_MATCH' }]);
  }
  // The site repository every region creates is one the rule replicates.
  for (const template of Object.values(platforms))
    assert.ok(
      String(props(resourcesOf(template, 'AWS::ECR::Repository')[0]!)['RepositoryName']).startsWith(
        'tandem/',
      ),
    );
});

test('no replication configuration with a single region, or with imageReplication off', () => {
  controlOnly(['eu-central-1']).resourceCountIs('AWS::ECR::ReplicationConfiguration', 0);
  controlOnly(DEFAULT_REGIONS, false).resourceCountIs('AWS::ECR::ReplicationConfiguration', 0);
  controlOnly(DEFAULT_REGIONS, true).resourceCountIs('AWS::ECR::ReplicationConfiguration', 1);
});

const alarmsOf = (template: Template) =>
  Object.fromEntries(
    resourcesOf(template, 'AWS::CloudWatch::Alarm').map((r) => [String(props(r)['AlarmName']), props(r)]),
  );
const topicRef = (template: Template) => ({ Ref: Object.keys(template.findResources('AWS::SNS::Topic'))[0] });

test("each region's reconciler alarms go to that region's topic, each with its missing-data treatment", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const all = alarmsOf(template);
    const names = [
      `tandem-failover-active-${region}`,
      `tandem-no-successful-pass-${region}`,
      `tandem-reconcile-errors-${region}`,
      `tandem-reconciler-errors-${region}`,
    ];
    for (const name of names) {
      assert.ok(all[name] !== undefined, name);
      assert.deepEqual(all[name]!['AlarmActions'], [topicRef(template)]);
      assert.deepEqual(all[name]!['OKActions'], [topicRef(template)]);
    }
    // Site errors: the EMF Errors of every site, summed by a Metrics Insights query.
    const errors = all[`tandem-reconcile-errors-${region}`]!;
    assert.equal(
      (errors['Metrics'] as Json[])[0]!['Expression'],
      'SELECT SUM(Errors) FROM SCHEMA("tandem", Region, Site)',
    );
    assert.equal((errors['Metrics'] as Json[])[0]!['Period'], 60);
    assert.deepEqual([errors['Threshold'], errors['ComparisonOperator']], [0, 'GreaterThanThreshold']);
    assert.equal(errors['TreatMissingData'], 'notBreaching');
    // The function failing: Lambda's own Errors, of this region's reconciler.
    const lambdaErrors = all[`tandem-reconciler-errors-${region}`]!;
    assert.deepEqual([lambdaErrors['Namespace'], lambdaErrors['MetricName']], ['AWS/Lambda', 'Errors']);
    assert.deepEqual(lambdaErrors['Dimensions'], [
      { Name: 'FunctionName', Value: { Ref: reconcilerOf(template)[0] } },
    ]);
    assert.equal(lambdaErrors['TreatMissingData'], 'notBreaching');
    // No complete pass in 5 minutes: SitesNotReached's minimum is above 0, or nothing was published.
    const noPass = all[`tandem-no-successful-pass-${region}`]!;
    assert.deepEqual(
      [noPass['Namespace'], noPass['MetricName'], noPass['Statistic'], noPass['Period']],
      ['tandem', 'SitesNotReached', 'Minimum', 300],
    );
    assert.deepEqual([noPass['Threshold'], noPass['ComparisonOperator']], [0, 'GreaterThanThreshold']);
    assert.equal(noPass['TreatMissingData'], 'breaching');
    // Failover: the reconciler's own FailoverActive decision, published per site on every pass.
    const failover = all[`tandem-failover-active-${region}`]!;
    assert.equal(
      (failover['Metrics'] as Json[])[0]!['Expression'],
      'SELECT MAX(FailoverActive) FROM SCHEMA("tandem", Site)',
    );
    assert.equal(failover['TreatMissingData'], 'notBreaching');
  }
});

test("the tandem dashboard shows each region's reconciler, its Lambda, and its ALB, read in that region, and points at tandem-sites", () => {
  const dashboards = resourcesOf(control, 'AWS::CloudWatch::Dashboard').map(props);
  assert.equal(dashboards.length, 1);
  assert.equal(dashboards[0]!['DashboardName'], 'tandem');
  const body = JSON.parse(String(dashboards[0]!['DashboardBody'])) as {
    widgets: { type: string; properties: Json }[];
  };
  const text = body.widgets
    .filter((w) => w.type === 'text')
    .map((w) => String(w.properties['markdown']))
    .join('\n');
  assert.match(text, /#dashboards\/dashboard\/tandem-sites/);
  for (const region of DEFAULT_REGIONS) {
    assert.ok(text.includes(`region=${region}#alarmsV2`), `a link to the alarms in ${region}`);
    const graphs = body.widgets.filter((w) => w.type === 'metric' && w.properties['region'] === region);
    const shown = JSON.stringify(graphs.map((w) => w.properties['metrics']));
    for (const expected of [
      '"tandem","PassDuration"',
      '"tandem","SitesNotReached"',
      'SELECT SUM(Errors) FROM SCHEMA',
      'SELECT SUM(ApiCalls) FROM SCHEMA',
      'SELECT SUM(Tasks) FROM SCHEMA',
      '"AWS/Lambda","Invocations","FunctionName","tandem-reconciler"',
      '"AWS/Lambda","Errors","FunctionName","tandem-reconciler"',
      '"AWS/Lambda","Throttles","FunctionName","tandem-reconciler"',
      '"AWS/Lambda","Duration","FunctionName","tandem-reconciler"',
      'SELECT SUM(RequestCount) FROM SCHEMA(',
      'SELECT SUM(HTTPCode_Target_5XX_Count) FROM SCHEMA(',
      'SELECT AVG(TargetResponseTime) FROM SCHEMA(',
      'SELECT MAX(TargetResponseTime) FROM SCHEMA(',
    ])
      assert.ok(shown.includes(expected), `${region}: ${expected}`);
    // A metric that names its own region names this one.
    const named = [...shown.matchAll(/"region":"([a-z0-9-]+)"/g)].map((m) => m[1]);
    assert.ok(named.length > 0);
    assert.deepEqual([...new Set(named)], [region], `${region}'s graphs read ${region} only`);
  }
});

test("each region alarms on its ALB's 5xx rate and on failover, to a topic in that region", () => {
  for (const [region, template] of Object.entries(platforms)) {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const alb = [`tandem-5xx-rate-${region}`, `tandem-failover-${region}`];
    const alarms = Object.fromEntries(
      Object.entries(alarmsOf(template)).filter(([name]) => alb.includes(name)),
    );
    assert.deepEqual(Object.keys(alarms).sort(), alb);
    const loadBalancer = {
      'Fn::GetAtt': [
        Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0],
        'LoadBalancerFullName',
      ],
    };
    for (const alarm of Object.values(alarms)) {
      assert.deepEqual(alarm['AlarmActions'], [topicRef(template)]);
      assert.equal(alarm['TreatMissingData'], 'notBreaching', 'no requests is no error');
    }
    const rate = alarms[`tandem-5xx-rate-${region}`]!;
    const queries = rate['Metrics'] as Json[];
    assert.match(
      String(queries.find((q) => q['Expression'] !== undefined)!['Expression']),
      /100 \* .*\/ requests/,
    );
    const metrics = queries.flatMap((q) =>
      q['MetricStat'] === undefined ? [] : [(q['MetricStat'] as Json)['Metric'] as Json],
    );
    assert.deepEqual(metrics.map((m) => m['MetricName']).sort(), [
      'HTTPCode_ELB_5XX_Count',
      'HTTPCode_Target_5XX_Count',
      'RequestCount',
    ]);
    for (const m of metrics)
      assert.deepEqual(m['Dimensions'], [{ Name: 'LoadBalancer', Value: loadBalancer }]);
    assert.equal(rate['Threshold'], 5);
    const failover = alarms[`tandem-failover-${region}`]!;
    assert.equal(failover['MetricName'], 'HTTPCode_ELB_5XX_Count');
    assert.deepEqual(failover['Dimensions'], [{ Name: 'LoadBalancer', Value: loadBalancer }]);
  }
});

test('each region has the tandem/site repository: scanned on push, immutable tags, a lifecycle, pulled by the execution role', () => {
  for (const template of Object.values(platforms)) {
    template.hasResource('AWS::ECR::Repository', {
      Properties: {
        RepositoryName: 'tandem/site',
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'IMMUTABLE',
        LifecyclePolicy: { LifecyclePolicyText: Match.anyValue() },
      },
      DeletionPolicy: 'Retain',
    });
    const repository = resourcesOf(template, 'AWS::ECR::Repository')[0]!;
    const lifecycle = JSON.parse(
      String((props(repository)['LifecyclePolicy'] as Json)['LifecyclePolicyText']),
    ) as { rules: { selection: Json }[] };
    // A spec names a tag: no rule may expire a tagged image, however old or many.
    assert.deepEqual(
      lifecycle.rules.map((r) => [r.selection['tagStatus'], r.selection['countType']]),
      [['untagged', 'sinceImagePushed']],
    );
    const id = Object.keys(template.findResources('AWS::ECR::Repository'))[0]!;
    const execution = Object.keys(
      template.findResources('AWS::IAM::Role', {
        Properties: { RoleName: Match.stringLikeRegexp('execution') },
      }),
    )[0]!;
    const pull = resourcesOf(template, 'AWS::IAM::Policy')
      .map(props)
      .filter((p) => JSON.stringify(p['Roles']) === JSON.stringify([{ Ref: execution }]))
      .flatMap((p) => list((p['PolicyDocument'] as Json)['Statement'] as Json[]))
      .filter((st) => list(st['Action'] as string[]).includes('ecr:BatchGetImage'));
    assert.ok(
      pull.some((st) => JSON.stringify(st['Resource']) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })),
      'a statement on the tandem/site repository itself',
    );
    template.hasOutput('SiteRepositoryUri', Match.anyValue());
  }
});

test('by default tasks get public IPs in the public subnets, and the VPC has no endpoints', () => {
  for (const template of Object.values(platforms)) {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    const document = platformDocument(template);
    assert.match(document, /assignPublicIp\W+true/);
    assert.match(
      document,
      /subnets\W+Ref\W+VpcpublicSubnet1Subnet\w+\W+Ref\W+VpcpublicSubnet2Subnet\w+\W+\]/,
    );
  }
});

test('with privateTasks, tasks run in isolated subnets without public IPs, reaching AWS through endpoints', () => {
  const t = privateTemplate;
  t.resourceCountIs('AWS::EC2::Subnet', 4);
  t.resourceCountIs('AWS::EC2::NatGateway', 0);
  const endpoints = resourcesOf(t, 'AWS::EC2::VPCEndpoint').map(props);
  const service = (e: Json) =>
    JSON.stringify(e['ServiceName']).replace(/.*(com\.amazonaws\.[^"]*|\.[a-z.]+)"\]\]\}$/, '$1');
  const interfaces = endpoints.filter((e) => e['VpcEndpointType'] === 'Interface');
  assert.deepEqual(
    interfaces.map((e) => String(e['ServiceName'])).sort(),
    ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'].map((s) => `com.amazonaws.eu-west-1.${s}`).sort(),
  );
  for (const e of interfaces) {
    assert.equal(e['PrivateDnsEnabled'], true);
    assert.match(JSON.stringify(e['SubnetIds']), /tasksSubnet1Subnet.*tasksSubnet2Subnet/);
  }
  const gateways = endpoints.filter((e) => e['VpcEndpointType'] === 'Gateway');
  assert.equal(gateways.length, 1);
  assert.match(service(gateways[0]!), /s3/);
  assert.match(
    JSON.stringify(gateways[0]!['RouteTableIds']),
    /tasksSubnet1RouteTable.*tasksSubnet2RouteTable/,
  );
  // The isolated subnets have no route out.
  const routes = resourcesOf(t, 'AWS::EC2::Route').map((r) => JSON.stringify(props(r)['RouteTableId']));
  assert.ok(
    routes.every((r) => !r.includes('tasksSubnet')),
    'no default route from the task subnets',
  );
  const document = platformDocument(t);
  assert.match(document, /assignPublicIp\W+false/);
  assert.match(document, /subnets\W+Ref\W+VpctasksSubnet1Subnet\w+\W+Ref\W+VpctasksSubnet2Subnet\w+\W+\]/);
  // The endpoints admit HTTPS from the tasks only.
  for (const group of resourcesOf(t, 'AWS::EC2::SecurityGroup')
    .map(props)
    .filter((g) => String(g['GroupDescription']).includes('Endpoint'))) {
    assert.equal(group['SecurityGroupIngress'], undefined);
  }
  const endpointIngress = resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')
    .map(props)
    .filter((r) => JSON.stringify(r['GroupId']).includes('Endpoint'));
  assert.equal(endpointIngress.length, 4);
  for (const rule of endpointIngress) {
    assert.equal(rule['FromPort'], 443);
    assert.match(JSON.stringify(rule['SourceSecurityGroupId']), /TaskSecurityGroup/);
  }
});

test('the check of actions on * names them exactly: GetSecretValue or an unconditioned create on * fails it', () => {
  const on = (Action: string, Condition?: Json) => ({ Effect: 'Allow', Action, Resource: '*', Condition });
  assert.deepEqual(unjustifiedOnAnyResource(on('secretsmanager:GetSecretValue')), [
    'secretsmanager:GetSecretValue',
  ]);
  assert.deepEqual(unjustifiedOnAnyResource(on('cloudfront:CreateDistribution')), [
    'cloudfront:CreateDistribution',
  ]);
  assert.deepEqual(unjustifiedOnAnyResource(on('cloudfront:CreateDistribution', TAGGED)), []);
  assert.deepEqual(unjustifiedOnAnyResource(on('ecs:DescribeTaskDefinition')), []);
});

test('no IAM statement allows an action on * unless that exact action is on the list, with its condition', () => {
  const offending: string[] = [];
  for (const [name, template] of Object.entries(templates)) {
    const documents = [
      ...resourcesOf(template, 'AWS::IAM::Policy').map((r) => props(r)['PolicyDocument'] as Json),
      ...resourcesOf(template, 'AWS::IAM::Role').flatMap((r) =>
        list(props(r)['Policies'] as Json[]).map((p) => p['PolicyDocument'] as Json),
      ),
    ];
    for (const statement of documents.flatMap((d) => list(d['Statement'] as Json[]))) {
      for (const action of unjustifiedOnAnyResource(statement)) offending.push(`${name}: ${action}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('cdk-nag AwsSolutions reports no unacknowledged error or warning, and every acknowledgement has a reason', () => {
  const findings = [app, privateApp, httpsApp].flatMap((scope) =>
    new AwsSolutionsChecks(scope)
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`),
      ),
  );
  assert.deepEqual(findings, []);
  const acknowledged = [app, privateApp, httpsApp]
    .flatMap((scope) => scope.node.findAll())
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
  assert.ok(acknowledged.length > 0);
  for (const [id, reason] of acknowledged) assert.ok(reason.length >= 40, `a reason for ${id}`);
});

test("a CloudWatch alarm of this account may publish to its region's topic, and no other alarm may", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    const policies = resourcesOf(template, 'AWS::SNS::TopicPolicy')
      .map(props)
      .filter((p) => list(p['Topics'] as Json[]).some((t) => t['Ref'] === topicId));
    assert.equal(policies.length, 1, `${region}: the topic has one policy`);
    const statements = list((policies[0]!['PolicyDocument'] as Json)['Statement'] as Json[]);
    // The alarm topic's policy replaces SNS's default one, so CloudWatch needs an Allow of its own.
    const allows = statements.filter(
      (st) =>
        st['Effect'] === 'Allow' &&
        JSON.stringify(st['Principal']) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }) &&
        list(st['Action'] as string | string[]).includes('sns:Publish') &&
        JSON.stringify(list(st['Resource'])) === JSON.stringify([{ Ref: topicId }]),
    );
    assert.equal(allows.length, 1, `${region}: CloudWatch may publish`);
    const condition = allows[0]!['Condition'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(condition['StringEquals'], { 'aws:SourceAccount': PLACEHOLDER_ACCOUNT });
    const sources = list(condition['ArnEquals']?.['aws:SourceArn'] as Json[]).map(
      (arn) => (arn['Fn::GetAtt'] as string[])[0],
    );
    const notifying = Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
      .filter(([, alarm]) => JSON.stringify(props(alarm as Json)['AlarmActions']).includes(String(topicId)))
      .map(([id]) => id);
    assert.equal(notifying.length, 6, `${region}: six alarms notify the topic`);
    assert.deepEqual(sources.sort(), notifying.sort(), `${region}: exactly the alarms that notify it`);
    // Plain HTTP is still refused.
    assert.ok(statements.some((st) => st['Effect'] === 'Deny'));
  }
});

/** The reconciler's statements that allow `action`, as [resources, condition]. */
const grantsOf = (template: Template, action: string) =>
  reconcilerStatements(template)
    .filter((st) => st['Effect'] === 'Allow' && actionsOf(st).includes(action))
    .map((st) => [arnsOf(st), st['Condition'] ?? null]);

test("a reconciler changes, reads the config of and deletes only distributions with tandem's tag, and creates and tags them only with it", () => {
  const distributions = [`arn:aws:cloudfront::${PLACEHOLDER_ACCOUNT}:distribution/*`];
  const owned = { StringEquals: { 'aws:ResourceTag/tandem:managed-by': 'tandem' } };
  for (const template of Object.values(platforms)) {
    for (const action of [
      'cloudfront:UpdateDistribution',
      'cloudfront:DeleteDistribution',
      'cloudfront:GetDistributionConfig',
    ])
      assert.deepEqual(grantsOf(template, action), [[distributions, owned]], action);
    assert.deepEqual(grantsOf(template, 'cloudfront:CreateDistribution'), [[['*'], TAGGED]]);
    assert.deepEqual(grantsOf(template, 'cloudfront:TagResource'), [[distributions, TAGGED]]);
    assert.deepEqual(grantsOf(template, 'cloudfront:ListTagsForResource'), [[distributions, null]]);
  }
});

test("a reconciler registers only tandem's task definition families, creates services only with tandem's tag, and tags only while creating", () => {
  for (const [region, template] of Object.entries(platforms)) {
    const ecs = (resource: string) => `arn:aws:ecs:${region}:${PLACEHOLDER_ACCOUNT}:${resource}`;
    const [services, families] = [ecs('service/tandem/*'), ecs('task-definition/tandem-*')];
    assert.deepEqual(grantsOf(template, 'ecs:RegisterTaskDefinition'), [[[families], TAGGED]]);
    assert.deepEqual(grantsOf(template, 'ecs:CreateService'), [[[services], TAGGED]]);
    assert.deepEqual(grantsOf(template, 'ecs:TagResource'), [
      [
        [services, families],
        {
          StringEquals: {
            'ecs:CreateAction': ['CreateService', 'RegisterTaskDefinition'],
            'aws:RequestTag/tandem:managed-by': 'tandem',
          },
        },
      ],
    ]);
    for (const action of ['ecs:UpdateService', 'ecs:DeleteService'])
      assert.deepEqual(grantsOf(template, action), [[[services], null]], action);
  }
});

test('a reconciler writes logs only to its own log group: no AWSLambdaBasicExecutionRole', () => {
  for (const template of Object.values(platforms)) {
    const [, fn] = reconcilerOf(template);
    const roleId = (fn['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
    const role = props(template.findResources('AWS::IAM::Role')[roleId] as Json);
    assert.equal(role['ManagedPolicyArns'], undefined, 'no managed policy');
    const logGroup = (fn['LoggingConfig'] as { LogGroup: Json }).LogGroup;
    const writes = reconcilerStatements(template).filter((st) =>
      actionsOf(st).some((a) => a.startsWith('logs:')),
    );
    assert.deepEqual(
      writes.map((st) => [actionsOf(st).sort(), list(st['Resource'])]),
      [[['logs:CreateLogStream', 'logs:PutLogEvents'], [{ 'Fn::GetAtt': [logGroup['Ref'], 'Arn'] }]]],
    );
  }
});

const ONLY_PARTITIONS = (partitions: string[]) => ({
  'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': partitions },
});

test("a reconciler writes only its own partitions of the table, never the platform items that say where every region's origin is", () => {
  for (const template of Object.values(platforms)) {
    const writes = reconcilerStatements(template).filter((st) =>
      actionsOf(st).some((a) =>
        ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'].includes(a),
      ),
    );
    assert.equal(writes.length, 1);
    assert.deepEqual(writes[0]!['Condition'], ONLY_PARTITIONS(['spec', 'edit', 'status', 'lease']));
  }
});

test('the bootstrap writes the platform items and the settings only into the platform partition', () => {
  for (const [name, template] of Object.entries(templates)) {
    const hasReconciler =
      Object.keys(template.findResources('AWS::Lambda::Function', NODE_FUNCTION)).length > 0;
    const reconciler = new Set(
      (hasReconciler ? reconcilerStatements(template) : []).map((st) => JSON.stringify(st)),
    );
    const writers = resourcesOf(template, 'AWS::IAM::Policy')
      .flatMap((p) => list((props(p)['PolicyDocument'] as Json)['Statement'] as Json[]))
      .filter((st) => actionsOf(st).includes('dynamodb:PutItem') && !reconciler.has(JSON.stringify(st)));
    assert.ok(writers.length > 0, name);
    for (const statement of writers)
      assert.deepEqual(statement['Condition'], ONLY_PARTITIONS(['platform']), name);
  }
});

test("the control stack creates ECS's service-linked role before any platform stack makes a cluster, and tolerates one that exists", () => {
  for (const template of [control, controlOnly(['eu-central-1'])]) {
    const calls = resourcesOf(template, 'Custom::AWS')
      .map((r) => sdkCall(props(r)['Create']))
      .filter((call) => call['action'] === 'createServiceLinkedRole');
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!['parameters'], { AWSServiceName: 'ecs.amazonaws.com' });
    assert.equal(calls[0]!['ignoreErrorCodesMatching'], 'InvalidInput', 'an account that has the role');
    const grants = resourcesOf(template, 'AWS::IAM::Policy')
      .flatMap((p) => list((props(p)['PolicyDocument'] as Json)['Statement'] as Json[]))
      .filter((st) => actionsOf(st).includes('iam:CreateServiceLinkedRole'));
    assert.deepEqual(
      grants.map((st) => [arnsOf(st), st['Condition']]),
      [
        [
          [
            `arn:aws:iam::${PLACEHOLDER_ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
          ],
          { StringEquals: { 'iam:AWSServiceName': 'ecs.amazonaws.com' } },
        ],
      ],
    );
  }
  // Every cluster is in a platform stack, and every platform stack deploys after the control stack.
  for (const stack of Object.values(stacks.platforms))
    assert.ok(stack.dependencies.includes(stacks.control), stack.stackName);
});
