import { Duration, Validations, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SITES_DASHBOARD } from '../controller/dashboard/sites.ts';
import { METRICS_NAMESPACE } from '../controller/lambda/metrics.ts';

/** The bootstrap's own dashboard, in the primary region; the reconciler keeps `tandem-sites` beside it. */
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

export interface ControlMonitoringProps {
  reconciler: lambda.IFunction;
  topic: sns.ITopic;
  /** Every region sites may run in, primary first. */
  regions: readonly string[];
}

/**
 * The reconciler's alarms and the `tandem` dashboard, in the primary region.
 * Each alarm's treatMissingData is chosen for what a missing point means there.
 */
export function addControlMonitoring(stack: Stack, props: ControlMonitoringProps): cloudwatch.Alarm[] {
  const { reconciler, topic } = props;
  const notify = new actions.SnsAction(topic);

  // Sites whose pass keeps failing (a status error), summed over every site and region. Five
  // minutes in a row, so one throttled call that the next pass retries does not page anyone.
  // Missing: no site has reported (none exist), which is not an error.
  const reconcileErrors = new cloudwatch.Alarm(stack, 'ReconcileErrorsAlarm', {
    alarmName: 'tandem-reconcile-errors',
    alarmDescription:
      'Sites report reconcile errors in five consecutive minutes. `tandem describe <site>` shows them; dashboard tandem.',
    metric: insights(SUM_ERRORS, 'site errors'),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 5,
    datapointsToAlarm: 5,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // The function itself failing (an exception, a timeout, out of memory), in 2 of 3 minutes.
  // Missing: no invocation, which the no-successful-pass alarm covers.
  const reconcilerErrors = new cloudwatch.Alarm(stack, 'ReconcilerErrorsAlarm', {
    alarmName: 'tandem-reconciler-errors',
    alarmDescription:
      'The reconciler Lambda failed (exception, timeout or out of memory) in 2 of the last 3 minutes. See its logs and the ReconcilerFailures queue.',
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
  // unreadable), which is what this alarm is for, so missing data breaches.
  const noPass = new cloudwatch.Alarm(stack, 'NoSuccessfulPassAlarm', {
    alarmName: 'tandem-no-successful-pass',
    alarmDescription:
      'No reconcile pass reached every site in the last 5 minutes (or none ran at all). See the reconciler logs.',
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

  // Any site's primary region failing, so the CDN serves from its failover region. The
  // reconciler publishes FailoverActive (1 or 0) per site on every pass. Missing: no pass, which
  // the no-successful-pass alarm covers.
  const failoverActive = new cloudwatch.Alarm(stack, 'FailoverActiveAlarm', {
    alarmName: 'tandem-failover-active',
    alarmDescription:
      "A site's primary region is failing and the CDN serves it from the failover region. `tandem describe <site>` shows which.",
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
  addControlDashboard(stack, props, alarms);
  return alarms;
}

function addControlDashboard(stack: Stack, props: ControlMonitoringProps, alarms: cloudwatch.Alarm[]) {
  const { reconciler } = props;
  // Dashboards are global to the account; the console shows them from the primary region.
  const consoleUrl = `https://console.aws.amazon.com/cloudwatch/home?region=${stack.region}`;
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: CONTROL_DASHBOARD,
    defaultInterval: Duration.hours(3),
  });
  const width = 8;
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      width: 24,
      height: 2,
      markdown: [
        '## tandem: the reconciler',
        `Per site (regions, load balancers, target groups, canary weight, distribution): the dashboard [${SITES_DASHBOARD}](${consoleUrl}#dashboards/dashboard/${SITES_DASHBOARD}), which the reconciler rewrites after every complete pass. Per region: the alarms \`tandem-5xx-rate-<region>\` and \`tandem-failover-<region>\` in that region.`,
      ].join('\n\n'),
    }),
  );
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, height: 2, alarms }));
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Pass duration (ms)',
      width,
      left: ['Average', 'Maximum'].map(
        (statistic) =>
          new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'PassDuration',
            statistic,
            period: MINUTE,
            label: statistic,
          }),
      ),
    }),
    new cloudwatch.GraphWidget({
      title: 'Site errors and sites not reached',
      width,
      left: [
        insights(SUM_ERRORS, 'site errors'),
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'SitesNotReached',
          statistic: cloudwatch.Stats.MAXIMUM,
          period: MINUTE,
          label: 'sites not reached',
        }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'AWS API calls per region',
      width,
      left: [
        insights(
          `SELECT SUM(ApiCalls) FROM SCHEMA("${METRICS_NAMESPACE}", Region) GROUP BY Region`,
          'API calls',
        ),
      ],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Reconciler Lambda: invocations, errors, throttles',
      width,
      left: [
        reconciler.metricInvocations({ period: MINUTE }),
        reconciler.metricErrors({ period: MINUTE }),
        reconciler.metricThrottles({ period: MINUTE }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Reconciler Lambda: duration (ms)',
      width,
      left: [
        reconciler.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.AVERAGE }),
        reconciler.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Running tasks per region',
      width,
      left: [
        insights(
          `SELECT SUM(Tasks) FROM SCHEMA("${METRICS_NAMESPACE}", Region, Site) GROUP BY Region`,
          'tasks',
        ),
      ],
    }),
  );
  // Requests, 5xx and latency of the ALBs in each region, read across regions from here. Metrics
  // Insights has no percentiles, so latency is the average and the maximum; the sites' dashboard
  // (tandem-sites) has each site's p95.
  const albWidth = Math.max(6, Math.floor(24 / (2 * props.regions.length)));
  const latency = (region: string, stat: 'AVG' | 'MAX') =>
    new cloudwatch.MathExpression({
      expression: `SELECT ${stat}(TargetResponseTime) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) GROUP BY LoadBalancer`,
      usingMetrics: {},
      label: stat === 'AVG' ? 'average' : 'maximum',
      period: MINUTE,
      searchRegion: region,
    });
  dashboard.addWidgets(
    ...props.regions.flatMap((region) => [
      new cloudwatch.GraphWidget({
        title: `ALB latency per load balancer (seconds): ${region}`,
        width: albWidth,
        region,
        left: [latency(region, 'AVG'), latency(region, 'MAX')],
      }),
      new cloudwatch.GraphWidget({
        title: `ALB requests and target 5xx per load balancer: ${region}`,
        width: albWidth,
        region,
        left: [
          new cloudwatch.MathExpression({
            expression: `SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) GROUP BY LoadBalancer`,
            usingMetrics: {},
            label: 'requests',
            period: MINUTE,
            searchRegion: region,
          }),
        ],
        right: [
          new cloudwatch.MathExpression({
            expression: `SELECT SUM(HTTPCode_Target_5XX_Count) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) GROUP BY LoadBalancer`,
            usingMetrics: {},
            label: 'target 5xx',
            period: MINUTE,
            searchRegion: region,
          }),
        ],
      }),
    ]),
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
  // whose primary is here; the control stack's tandem-failover-active alarm watches the reconciler's own decision.
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
