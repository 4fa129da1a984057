import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SITES_DASHBOARD } from '../controller/dashboard/sites.ts';
import { METRICS_NAMESPACE } from '../controller/lambda/metrics.ts';
import { RECONCILER_FUNCTION_NAME } from './names.ts';

/** The bootstrap's own dashboard, deployed with the control stack; the reconcilers keep `tandem-sites` beside it. */
export const CONTROL_DASHBOARD = 'tandem';
/** The 5xx share of a region's requests (percent, per minute) that raises its alarm. */
export const FIVE_XX_PERCENT = 5;
/** Below this many requests a minute the 5xx rate is not judged: one error in three requests is noise. */
export const FIVE_XX_MIN_REQUESTS = 20;

const MINUTE = Duration.minutes(1);

/**
 * A Metrics Insights query over the reconciler's EMF metrics
 * (controller/lambda/metrics.ts). The per-site series (dimensions Site and
 * Region) are summed by the query, so neither the alarm nor the dashboard
 * needs to know the sites.
 */
const insights = (expression: string, label: string, period = MINUTE) =>
  new cloudwatch.MathExpression({ expression, usingMetrics: {}, label, period });

const SUM_ERRORS = `SELECT SUM(Errors) FROM SCHEMA("${METRICS_NAMESPACE}", Region, Site)`;
const MAX_FAILOVER = `SELECT MAX(FailoverActive) FROM SCHEMA("${METRICS_NAMESPACE}", Site)`;

/** An SNS topic CloudWatch alarms publish to (one per region: alarm actions cannot cross regions). */
export function alarmTopic(stack: Stack, id: string, displayName: string): sns.Topic {
  const topic = new sns.Topic(stack, id, { displayName, enforceSSL: true });
  Validations.of(topic).acknowledge({
    id: 'AwsSolutions-SNS2',
    reason:
      'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and alarm messages carry no secrets.',
  });
  return topic;
}

/**
 * Lets these alarms publish to their region's topic. `enforceSSL` gives the
 * topic a policy of its own, which replaces SNS's default one (any principal
 * of the account may publish) and holds only the Deny of plain HTTP; without
 * this Allow every notification is refused ("…alarm:… is not authorized to
 * perform: SNS:Publish", in the alarm's history). CloudWatch publishes as the
 * service principal `cloudwatch.amazonaws.com`; the account and the alarms'
 * own ARNs (aws:SourceAccount, aws:SourceArn) keep any other account's
 * alarm, and any other alarm, from using the topic (docs/bootstrap.md).
 */
export function allowAlarmsToPublish(topic: sns.Topic, alarms: readonly cloudwatch.Alarm[]): void {
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'TandemAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(topic).account },
        ArnEquals: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
      },
    }),
  );
}

export interface ReconcilerAlarmsProps {
  /** This region's reconciler. */
  reconciler: lambda.IFunction;
  /** This region's alarm topic. */
  topic: sns.ITopic;
  /** The region, which every alarm name ends with. */
  region: string;
}

/**
 * One region's reconciler alarms, on the metrics that region's reconciler
 * publishes (EMF metrics land in the Lambda's own region), to the region's own
 * topic. Each region alarms for itself, so losing the primary region loses
 * only the primary's alarms. Each alarm's treatMissingData is chosen for what
 * a missing point means there.
 */
export function addReconcilerAlarms(scope: Construct, props: ReconcilerAlarmsProps): cloudwatch.Alarm[] {
  const { reconciler, region } = props;
  const notify = new actions.SnsAction(props.topic);

  // Sites whose pass keeps failing (a status error), summed over every site and region this
  // reconciler reports. Five minutes in a row, so one throttled call that the next pass retries
  // does not page anyone. Missing: no site has reported (none exist), which is not an error.
  const reconcileErrors = new cloudwatch.Alarm(scope, 'ReconcileErrorsAlarm', {
    alarmName: `tandem-reconcile-errors-${region}`,
    alarmDescription: `Sites report reconcile errors from the reconciler in ${region} in five consecutive minutes. \`tandem describe <site>\` shows them; dashboard tandem.`,
    metric: insights(SUM_ERRORS, 'site errors'),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 5,
    datapointsToAlarm: 5,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // The function itself failing (an exception, a timeout, out of memory), in 2 of 3 minutes.
  // Missing: no invocation, which the no-successful-pass alarm covers.
  const reconcilerErrors = new cloudwatch.Alarm(scope, 'ReconcilerErrorsAlarm', {
    alarmName: `tandem-reconciler-errors-${region}`,
    alarmDescription: `The reconciler Lambda in ${region} failed (exception, timeout or out of memory) in 2 of the last 3 minutes. See its logs and its failure queue.`,
    metric: reconciler.metricErrors({ period: MINUTE, statistic: cloudwatch.Stats.SUM }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // Every invocation that lists the sites publishes SitesNotReached (no dimensions), 0 when it
  // reconciled them all. Its minimum over 5 minutes is 0 exactly when one pass completed.
  // Missing: no invocation got that far (not scheduled, throttled, crashing, or the table
  // replica unreadable), which is what this alarm is for, so missing data breaches.
  const noPass = new cloudwatch.Alarm(scope, 'NoSuccessfulPassAlarm', {
    alarmName: `tandem-no-successful-pass-${region}`,
    alarmDescription: `No reconcile pass in ${region} reached every site in the last 5 minutes (or none ran at all). See the reconciler's logs in ${region}.`,
    metric: new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'SitesNotReached',
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(5),
    }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });

  // A site failed over, as this region's reconciler decided it (it publishes FailoverActive, 1 or
  // 0 per site, on every pass). In every region, so a failover region still raises it when the
  // primary is gone. Missing: no pass, which the no-successful-pass alarm covers.
  const failoverActive = new cloudwatch.Alarm(scope, 'FailoverActiveAlarm', {
    alarmName: `tandem-failover-active-${region}`,
    alarmDescription: `The reconciler in ${region} sees a site's primary region failing, with the CDN serving it from a failover region. \`tandem describe <site>\` shows which.`,
    metric: insights(MAX_FAILOVER, 'sites failed over'),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  const alarms = [reconcileErrors, reconcilerErrors, noPass, failoverActive];
  for (const alarm of alarms) {
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
  }
  return alarms;
}

export interface ControlDashboardProps {
  /** Every region of the platform, primary first: each gets its reconciler's and its ALB's graphs. */
  regions: readonly string[];
}

/**
 * The `tandem` dashboard, deployed with the control stack: a section per
 * region with that region's reconciler (its EMF metrics and its Lambda, read
 * in that region by name, so no stack reads another's) and its ALB.
 * Dashboards are global to the account; the widgets name their region.
 */
export function addControlDashboard(stack: Stack, props: ControlDashboardProps): cloudwatch.Dashboard {
  // Dashboards are global: any region's console opens tandem-sites.
  const consoleUrl = `https://console.aws.amazon.com/cloudwatch/home?region=${stack.region}`;
  const alarmsUrl = (region: string) =>
    `https://console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:?search=tandem-`;
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: CONTROL_DASHBOARD,
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      width: 24,
      height: 3,
      markdown: [
        '## tandem: a reconciler in every region',
        `Per site (regions, load balancers, target groups, canary weight, distribution): the dashboard [${SITES_DASHBOARD}](${consoleUrl}#dashboards/dashboard/${SITES_DASHBOARD}), which the reconciler rewrites after every complete pass.`,
        // Alarms live in their own region (an alarm publishes only to its region's topic).
        `Alarms, in each region's own console: ${props.regions.map((r) => `[${r}](${alarmsUrl(r)})`).join(' · ')} (\`tandem-*-<region>\`).`,
      ].join('\n\n'),
    }),
  );
  for (const region of props.regions) addRegionSection(dashboard, region);
  return dashboard;
}

/** One region's rows: its reconciler's passes, its Lambda, and its ALB, each read in that region. */
function addRegionSection(dashboard: cloudwatch.Dashboard, region: string) {
  const width = 8;
  const emf = (metricName: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      statistic,
      period: MINUTE,
      label,
      region,
    });
  const query = (expression: string, label: string) =>
    new cloudwatch.MathExpression({
      expression,
      usingMetrics: {},
      label,
      period: MINUTE,
      searchRegion: region,
    });
  const lambdaMetric = (metricName: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { FunctionName: RECONCILER_FUNCTION_NAME },
      statistic,
      period: MINUTE,
      label,
      region,
    });
  const alb = (expression: string, label: string) =>
    query(
      `SELECT ${expression} FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) GROUP BY LoadBalancer`,
      label,
    );

  dashboard.addWidgets(new cloudwatch.TextWidget({ width: 24, height: 1, markdown: `### ${region}` }));
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: `Pass duration (ms): ${region}`,
      width,
      region,
      left: [emf('PassDuration', 'Average', 'average'), emf('PassDuration', 'Maximum', 'maximum')],
    }),
    new cloudwatch.GraphWidget({
      title: `Site errors and sites not reached: ${region}`,
      width,
      region,
      left: [query(SUM_ERRORS, 'site errors'), emf('SitesNotReached', 'Maximum', 'sites not reached')],
    }),
    new cloudwatch.GraphWidget({
      title: `AWS API calls per region, by the reconciler in ${region}`,
      width,
      region,
      left: [
        query(
          `SELECT SUM(ApiCalls) FROM SCHEMA("${METRICS_NAMESPACE}", Region) GROUP BY Region`,
          'API calls',
        ),
      ],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: `Reconciler Lambda: invocations, errors, throttles: ${region}`,
      width,
      region,
      left: [
        lambdaMetric('Invocations', 'Sum', 'invocations'),
        lambdaMetric('Errors', 'Sum', 'errors'),
        lambdaMetric('Throttles', 'Sum', 'throttles'),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: `Reconciler Lambda: duration (ms): ${region}`,
      width,
      region,
      left: [lambdaMetric('Duration', 'Average', 'average'), lambdaMetric('Duration', 'Maximum', 'maximum')],
    }),
    new cloudwatch.GraphWidget({
      title: `Running tasks per region, by the reconciler in ${region}`,
      width,
      region,
      left: [
        query(`SELECT SUM(Tasks) FROM SCHEMA("${METRICS_NAMESPACE}", Region, Site) GROUP BY Region`, 'tasks'),
      ],
    }),
  );
  // Metrics Insights has no percentiles, so latency is the average and the maximum; the sites'
  // dashboard (tandem-sites) has each site's p95.
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: `ALB latency per load balancer (seconds): ${region}`,
      width: 12,
      region,
      left: [alb('AVG(TargetResponseTime)', 'average'), alb('MAX(TargetResponseTime)', 'maximum')],
    }),
    new cloudwatch.GraphWidget({
      title: `ALB requests and target 5xx per load balancer: ${region}`,
      width: 12,
      region,
      left: [alb('SUM(RequestCount)', 'requests')],
      right: [alb('SUM(HTTPCode_Target_5XX_Count)', 'target 5xx')],
    }),
  );
}

export interface RegionAlarmsProps {
  loadBalancer: elbv2.ApplicationLoadBalancer;
  topic: sns.ITopic;
  region: string;
}

/**
 * A region's viewer-facing alarms, on its ALB, publishing to the region's own
 * topic (alarm actions must be in the alarm's region).
 */
export function addRegionAlarms(stack: Stack, props: RegionAlarmsProps): cloudwatch.Alarm[] {
  const { loadBalancer, region } = props;
  const notify = new actions.SnsAction(props.topic);
  const sum = { period: MINUTE, statistic: cloudwatch.Stats.SUM };
  const requests = loadBalancer.metrics.requestCount(sum);
  const target5xx = loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, sum);
  const elb5xx = loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, sum);

  // The share of requests answered 5xx, by the sites (target) or by the ALB itself.
  // Missing: the ALB publishes nothing in a minute without requests, which is no error.
  const fiveXx = new cloudwatch.Alarm(stack, 'FiveXxRateAlarm', {
    alarmName: `tandem-5xx-rate-${region}`,
    alarmDescription: `More than ${FIVE_XX_PERCENT}% of the requests to tandem's ALB in ${region} were answered 5xx in 3 of the last 5 minutes (judged from ${FIVE_XX_MIN_REQUESTS} requests a minute).`,
    metric: new cloudwatch.MathExpression({
      expression: `IF(requests >= ${FIVE_XX_MIN_REQUESTS}, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)`,
      usingMetrics: { requests, target5xx, elb5xx },
      label: '5xx %',
      period: MINUTE,
    }),
    threshold: FIVE_XX_PERCENT,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // The ALB answering 5xx itself (502, 503, 504: no healthy target, targets unreachable or too
  // slow) is what makes CloudFront's origin group fail over to the next region for every site
  // whose primary is here; tandem-failover-active-<region> watches the reconcilers' own decision.
  // Missing: no requests, or none refused, which is the healthy case.
  const failover = new cloudwatch.Alarm(stack, 'FailoverAlarm', {
    alarmName: `tandem-failover-${region}`,
    alarmDescription: `tandem's ALB in ${region} answered 5xx itself (no healthy or reachable targets) in 2 consecutive minutes: CloudFront is failing over sites whose primary region is ${region}.`,
    metric: elb5xx,
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  for (const alarm of [fiveXx, failover]) {
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
  }
  return [fiveXx, failover];
}
