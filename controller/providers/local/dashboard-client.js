// The local dashboard page's script: no build step, Chart.js is the global the page loads first.
// It draws each site's status and the reconciler's CloudWatch dashboard from the page server's
// JSON API, and refreshes both every local period. All text goes into the DOM as text nodes.

const WINDOW_MS = 15 * 60 * 1000;
const TICK_MS = 3 * 60 * 1000;

const CONDITION_ORDER = [
  'Ready',
  'Reconciling',
  'Stalled',
  'Invalid',
  'Degraded',
  'Paused',
  'Deleting',
  'FailoverActive',
  'CanaryProgressing',
  'CanaryFailed',
];
// Ready should be True and the problems False; the others only say what is going on.
const HEALTHY_STATUS = {
  Ready: 'True',
  Stalled: 'False',
  Invalid: 'False',
  Degraded: 'False',
  CanaryFailed: 'False',
};
// A track keeps its colour on every graph; its "desired" line is dashed in the same colour.
const TRACK_COLOURS = { stable: '#2563eb', canary: '#ea580c' };
const PALETTE = ['#16a34a', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];

/**
 * What the page drew last: the dashboard body (as JSON text), a chart per metric widget, and the
 * CDN's counters with when they were read (the CDN panel shows what changed since).
 */
const state = {
  periodSeconds: 5,
  bodyText: undefined,
  metricWidgets: [],
  failedRegions: new Set(),
  cdnLast: undefined,
};

/** An element with attributes and children; strings become text nodes, so nothing is parsed as HTML. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function getJson(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${path}: ${body.error ?? response.status}`);
  return body;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

// ---- regions and sites ----

function renderRegions(regions) {
  state.failedRegions = new Set(regions.filter((r) => r.failed).map((r) => r.name));
  document.getElementById('regions').replaceChildren(
    ...regions.map((r) =>
      el(
        'div',
        { class: r.failed ? 'card region failed' : 'card region', 'data-region': r.name },
        r.name,
        r.failed ? el('span', { class: 'badge failed' }, 'FAILED') : el('span', { class: 'badge ok' }, 'UP'),
        ...(r.dns === undefined
          ? []
          : [
              el(
                'span',
                {
                  class: r.dns.answers === r.name ? 'badge ok' : 'badge failed',
                  title: `DNS failover: its health check ${r.dns.healthy ? 'passes' : 'fails'}; its failover name answers ${r.dns.answers}`,
                },
                r.dns.answers === r.name ? 'DNS' : `DNS → ${r.dns.answers}`,
              ),
            ]),
      ),
    ),
  );
}

function renderSites(sites) {
  const container = document.getElementById('sites');
  if (sites.length === 0) {
    container.replaceChildren(
      el('div', { class: 'card empty' }, 'No sites yet: the reconciler has written no status.'),
    );
    return;
  }
  container.replaceChildren(...sites.map(sitePanel));
}

function sitePanel(status) {
  const regions = Object.entries(status.regions ?? {}).sort(
    ([a, ra], [b, rb]) =>
      (ra.role === 'primary' ? 0 : 1) - (rb.role === 'primary' ? 0 : 1) || (a < b ? -1 : 1),
  );
  return el(
    'section',
    { class: 'card site', 'data-site': status.site },
    el(
      'div',
      { class: 'site-head' },
      el('h3', {}, status.site),
      el('span', { class: 'muted' }, canarySummary(status, regions)),
      el('span', { class: 'muted' }, cdnSummary(status.cdn ?? {})),
      el('span', { class: 'muted' }, `generation ${status.observedGeneration}`),
    ),
    el(
      'div',
      { class: 'site-body' },
      el('div', {}, el('h4', {}, 'Conditions'), conditionList(status.conditions ?? {})),
      el('div', {}, el('h4', {}, 'Tasks'), el('div', { class: 'table-wrap' }, taskTable(regions))),
      el(
        'div',
        {},
        el('h4', {}, 'Last actions'),
        plainList(
          status.lastActions ?? [],
          (a) => [
            el('code', {}, a.kind),
            ` ${a.target}`,
            a.region ? el('span', { class: 'muted' }, ` · ${a.region}`) : '',
          ],
          'none',
        ),
      ),
      el(
        'div',
        {},
        el('h4', {}, 'Errors'),
        plainList(
          status.errors ?? [],
          (e) => [el('code', {}, e.kind), ` ${e.resource}${e.region ? ` (${e.region})` : ''}: ${e.message}`],
          'none',
          'errors',
        ),
      ),
    ),
  );
}

function canarySummary(status, regions) {
  if (status.canary) {
    const c = status.canary;
    return `Canary ${c.tag}: ${c.weight} % · ${c.phase}${c.message ? ` · ${c.message}` : ''}`;
  }
  const weight = Math.max(0, ...regions.map(([, r]) => r.canaryWeight ?? 0));
  return weight > 0 ? `Canary: ${weight} %` : 'Canary: none';
}

function cdnSummary(cdn) {
  if (cdn.error) return `CDN: ${cdn.error}`;
  if (!cdn.distributionId) return 'CDN: not created yet';
  return `CDN: ${cdn.domainName ?? cdn.distributionId}${cdn.state ? ` (${cdn.state})` : ''}`;
}

function conditionList(conditions) {
  const types = Object.keys(conditions).sort((a, b) => rank(a) - rank(b));
  if (types.length === 0) return el('div', { class: 'muted' }, 'none yet');
  return el(
    'div',
    { class: 'conditions' },
    types.map((type) => {
      const c = conditions[type];
      return el(
        'div',
        { class: 'condition', 'data-condition': type, 'data-status': c.status },
        el('span', { class: `dot ${tone(type, c.status)}`, title: c.status }),
        el('span', { class: 'type' }, `${type}: ${c.status}`),
        el(
          'span',
          { class: 'reason', title: c.lastTransitionTime },
          `${c.reason} · since ${clock(Date.parse(c.lastTransitionTime))}`,
        ),
        c.message ? el('span', { class: 'message' }, c.message) : '',
      );
    }),
  );
}

function rank(type) {
  const i = CONDITION_ORDER.indexOf(type);
  return i === -1 ? CONDITION_ORDER.length : i;
}

function tone(type, status) {
  if (status !== 'True' && status !== 'False') return 'off';
  const healthy = HEALTHY_STATUS[type];
  if (healthy !== undefined) return status === healthy ? 'good' : 'bad';
  if (status === 'False') return 'off';
  return type === 'Paused' || type === 'Deleting' || type === 'FailoverActive' ? 'warn' : 'info';
}

function taskTable(regions) {
  if (regions.length === 0) return el('div', { class: 'muted' }, 'no regions observed yet');
  const counts = (c) => [c?.desired ?? 0, c?.running ?? 0, c?.pending ?? 0].map((n) => el('td', {}, n));
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th'),
        el('th', { colspan: 3, class: 'group' }, 'stable'),
        el('th', { colspan: 3, class: 'group' }, 'canary'),
        el('th', { colspan: 3 }),
      ),
      el(
        'tr',
        {},
        [
          'region',
          'desired',
          'running',
          'pending',
          'desired',
          'running',
          'pending',
          'canary %',
          'req/min',
          'healthy',
        ].map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      regions.flatMap(([name, r]) => {
        const row = el(
          'tr',
          { 'data-region': name },
          el(
            'td',
            {},
            `${name} `,
            el('span', { class: 'muted' }, `(${r.role})`),
            state.failedRegions.has(name) ? [' ', el('span', { class: 'badge failed' }, 'FAILED')] : '',
          ),
          counts(r.stable),
          counts(r.canary),
          el('td', {}, r.canaryWeight ?? 0),
          el('td', {}, r.requestsPerMinute === undefined ? '–' : Math.round(r.requestsPerMinute)),
          el('td', {}, r.healthyTargets ?? '–'),
        );
        const notes = [
          r.degraded && `Degraded: ${r.degraded.message}`,
          r.scaling?.decision && `Autoscaler: ${r.scaling.decision.message}`,
        ].filter(Boolean);
        return [
          row,
          ...notes.map((note) =>
            el(
              'tr',
              {},
              el('td', { class: note.startsWith('Degraded') ? 'note' : 'note muted', colspan: 10 }, note),
            ),
          ),
        ];
      }),
    ),
  );
}

function plainList(items, render, empty, className) {
  if (items.length === 0) return el('div', { class: 'muted' }, empty);
  return el(
    'ul',
    { class: `plain ${className ?? ''}` },
    items.map((item) => el('li', {}, render(item))),
  );
}

// ---- the CDN ----

/**
 * The CDN's counters are totals since it started; the panel shows their change since the last
 * refresh, per second, so a failover reads as traffic moving from one origin (region) to another.
 */
function renderCdn(stats, regions) {
  const panel = document.getElementById('cdn');
  if (stats === null || stats === undefined) {
    panel.hidden = true;
    state.cdnLast = undefined;
    return;
  }
  const now = Date.now();
  const recent = cdnWindow(state.cdnLast, stats, now);
  state.cdnLast = { stats, at: now };
  // Regions first, in the strip's order, then any other origin the CDN has answered from.
  const names = regions.map((r) => r.name);
  const others = Object.keys(stats.byOrigin ?? {}).filter((id) => !names.includes(id));
  const origins = [...names, ...others.sort()];
  const colour = (i) => PALETTE[i % PALETTE.length];
  // An origin that answered nothing while others did has 0 %; with no answers at all, no shares.
  const shareOf = (id) => (recent?.shares.size ? (recent.shares.get(id) ?? 0) : undefined);
  const rateTitle = recent ? `over the last ${recent.seconds.toFixed(1)} s` : 'from the next refresh';
  panel.hidden = false;
  panel.replaceChildren(
    el('span', { class: 'cdn-title' }, 'CDN'),
    figure(recent && rate(recent.requests), 'req/s', rateTitle),
    el(
      'span',
      { class: 'shares', title: `share of origin responses ${rateTitle}` },
      el(
        'span',
        { class: 'share-bar' },
        origins.map((id, i) => {
          const share = shareOf(id);
          return share ? el('span', { style: `width: ${share}%; background: ${colour(i)}` }) : '';
        }),
      ),
      origins.map((id, i) => {
        const share = shareOf(id);
        return el(
          'span',
          {
            class: state.failedRegions.has(id) ? 'share failed' : 'share',
            'data-origin': id,
            'data-share': share === undefined ? undefined : Math.round(share),
            title: `${total(counter(stats.byOrigin, id))} responses since start`,
          },
          el('span', { class: 'swatch', style: `background: ${colour(i)}` }),
          `${id} `,
          el('b', {}, share === undefined ? '–' : `${Math.round(share)} %`),
        );
      }),
    ),
    figure(
      recent?.cacheHitPercent !== undefined && `${Math.round(recent.cacheHitPercent)} %`,
      'cache hits',
      rateTitle,
    ),
    figure(recent && rate(recent.failovers), 'failovers/s', rateTitle, recent?.failovers > 0 && 'warn'),
    figure(recent && rate(recent.errors5xx), '5xx/s', rateTitle, recent?.errors5xx > 0 && 'bad'),
    el(
      'span',
      { class: 'totals' },
      `since start: ${[
        `${total(stats.requests)} requests`,
        stats.requests > 0 ? `${Math.round((100 * stats.cacheHits) / stats.requests)} % from cache` : '',
        `${total(stats.failovers)} failovers`,
        `${total(stats.errors5xx)} 5xx`,
      ]
        .filter(Boolean)
        .join(' · ')}`,
    ),
  );
}

/**
 * Rates per second and each origin's share (percent of origin responses) between two reads of
 * the counters; undefined on the first read, or when a counter went back (the CDN restarted).
 */
function cdnWindow(last, stats, now) {
  if (last === undefined) return undefined;
  const seconds = (now - last.at) / 1000;
  const delta = (key) => counter(stats, key) - counter(last.stats, key);
  const keys = ['requests', 'cacheHits', 'failovers', 'errors5xx'];
  const ids = Object.keys(stats.byOrigin ?? {});
  const byOrigin = ids.map((id) => [id, counter(stats.byOrigin, id) - counter(last.stats.byOrigin, id)]);
  if (seconds <= 0 || keys.some((key) => delta(key) < 0) || byOrigin.some(([, n]) => n < 0)) return undefined;
  const answered = byOrigin.reduce((sum, [, n]) => sum + n, 0);
  const requests = delta('requests');
  return {
    seconds,
    requests: requests / seconds,
    failovers: delta('failovers') / seconds,
    errors5xx: delta('errors5xx') / seconds,
    cacheHitPercent: requests > 0 ? (100 * delta('cacheHits')) / requests : undefined,
    shares: new Map(answered > 0 ? byOrigin.map(([id, n]) => [id, (100 * n) / answered]) : []),
  };
}

/** A count from the API's JSON; an origin id such as `constructor` must not reach the prototype. */
function counter(record, key) {
  return record && Object.hasOwn(record, key) ? Number(record[key]) || 0 : 0;
}

function figure(value, unit, title, tone) {
  return el(
    'span',
    { class: tone ? `figure ${tone}` : 'figure', title },
    el('b', {}, value === undefined || value === false ? '–' : value),
    ' ',
    el('span', { class: 'unit' }, unit),
  );
}

function rate(perSecond) {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

function total(n) {
  return (Number(n) || 0).toLocaleString('en-US');
}

// ---- the dashboard ----

function renderDashboard(body) {
  for (const w of state.metricWidgets) w.chart.destroy();
  state.metricWidgets = [];
  const container = document.getElementById('dashboard');
  const widgets = Array.isArray(body?.widgets) ? body.widgets : undefined;
  if (widgets === undefined) {
    container.replaceChildren(
      el(
        'div',
        { class: 'card empty', style: 'grid-column: 1 / -1' },
        "waiting for the reconciler's first dashboard",
      ),
    );
    return;
  }
  container.replaceChildren(...widgets.map((widget, index) => renderWidget(widget, index)));
}

function renderWidget(widget, index) {
  const x = Number.isInteger(widget.x) ? widget.x : 0;
  const width = Number.isInteger(widget.width) ? widget.width : 6;
  const place = `grid-column: ${Math.min(x, 23) + 1} / span ${Math.max(1, Math.min(width, 24 - Math.min(x, 23)))}`;
  const height = Number.isInteger(widget.height) ? Math.max(1, widget.height) : 6;
  const rows = Number.isInteger(widget.y) ? `grid-row: ${widget.y + 1} / span ${height}` : '';
  const style = `${place}; ${rows}`;
  const properties = widget.properties ?? {};
  if (widget.type === 'text') {
    return el('div', { class: 'card widget markdown', style }, markdown(String(properties.markdown ?? '')));
  }
  if (widget.type !== 'metric') {
    return el('div', { class: 'card widget muted', style }, `a ${widget.type} widget is not drawn locally`);
  }
  const title = String(properties.title ?? '');
  const lines = metricLines(properties, index);
  const badge = el('span', { class: 'badge failed', hidden: true }, 'FAILED');
  const error = el('div', { class: 'widget-error', hidden: true });
  const canvas = el('canvas', { 'data-widget-title': title, 'aria-label': title, role: 'img' });
  const node = el(
    'div',
    { class: 'card widget', style },
    el('div', { class: 'widget-title', title }, el('span', {}, title), badge),
    error,
    el('div', { class: 'chart' }, canvas),
  );
  const chart = new Chart(canvas, chartConfig(properties, lines));
  state.metricWidgets.push({ region: String(properties.region ?? ''), lines, chart, canvas, badge, error });
  return node;
}

/** CloudWatch's metric arrays, `[namespace, metric, dimension, value, ..., {label}]`, as queries. */
function metricLines(properties, widgetIndex) {
  const entries = Array.isArray(properties.metrics) ? properties.metrics : [];
  return entries.flatMap((entry, i) => {
    if (!Array.isArray(entry)) return [];
    const last = entry[entry.length - 1];
    const options = last !== null && typeof last === 'object' ? last : {};
    const parts = entry.filter((part) => typeof part === 'string');
    if (parts.length < 2 || parts.length % 2 !== 0) return [];
    const [namespace, metric, ...pairs] = parts;
    const dimensions = {};
    for (let k = 0; k < pairs.length; k += 2) dimensions[pairs[k]] = pairs[k + 1];
    const query = {
      id: `w${widgetIndex}_m${i}`,
      namespace,
      metric,
      dimensions,
      stat: options.stat ?? properties.stat ?? 'Average',
    };
    return [{ label: options.label ?? metric, query }];
  });
}

function chartConfig(properties, lines) {
  const left = properties.yAxis?.left ?? {};
  return {
    type: 'line',
    data: {
      datasets: lines.map((line, i) => {
        const [track] = line.label.split(' ');
        const colour = TRACK_COLOURS[track] ?? PALETTE[i % PALETTE.length];
        const target = line.label.endsWith(' desired');
        return {
          label: line.label,
          data: [],
          borderColor: colour,
          backgroundColor: colour,
          borderWidth: 1.5,
          borderDash: target ? [5, 4] : [],
          pointRadius: target ? 0 : 1.5,
          pointHoverRadius: 4,
          tension: 0,
        };
      }),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: {
          type: 'linear',
          ticks: {
            stepSize: TICK_MS,
            maxRotation: 0,
            font: { size: 11 },
            callback: (value) => clock(value).slice(0, 5),
          },
          grid: { color: '#eef0f3' },
        },
        y: {
          min: typeof left.min === 'number' ? left.min : undefined,
          beginAtZero: true,
          title: { display: Boolean(left.label), text: left.label ?? '', font: { size: 11 } },
          ticks: { font: { size: 11 }, maxTicksLimit: 6 },
          grid: { color: '#eef0f3' },
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 2, font: { size: 11 } } },
        tooltip: { callbacks: { title: (items) => (items.length > 0 ? clock(items[0].parsed.x) : '') } },
      },
    },
  };
}

/** One request per region (GetMetricData takes 500 queries a call), then every chart updated in place. */
async function refreshMetrics() {
  const period = state.periodSeconds;
  const end = Date.now();
  const start = Math.floor((end - WINDOW_MS) / (period * 1000)) * period * 1000;
  const byRegion = new Map();
  for (const w of state.metricWidgets) {
    if (!byRegion.has(w.region)) byRegion.set(w.region, []);
    byRegion.get(w.region).push(w);
  }
  await Promise.all(
    [...byRegion].map(async ([region, widgets]) => {
      const queries = widgets.flatMap((w) =>
        w.lines.map((line) => ({ ...line.query, periodSeconds: period })),
      );
      try {
        const series = new Map();
        for (let i = 0; i < queries.length; i += 500) {
          const answer = await getJson('/api/metric-data', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ region, queries: queries.slice(i, i + 500), start, end }),
          });
          for (const s of answer.series) series.set(s.id, s.points);
        }
        for (const w of widgets) drawSeries(w, series, start, end, undefined);
      } catch (error) {
        for (const w of widgets) drawSeries(w, undefined, start, end, error.message);
      }
    }),
  );
}

function drawSeries(widget, series, start, end, error) {
  widget.badge.hidden = !state.failedRegions.has(widget.region);
  widget.error.hidden = error === undefined;
  widget.error.textContent = error ?? '';
  const x = widget.chart.options.scales.x;
  x.min = start;
  x.max = end;
  if (series !== undefined) {
    widget.lines.forEach((line, i) => {
      const points = series.get(line.query.id) ?? [];
      // Counts come per local period; the widgets' axes, as CloudWatch's, are per minute.
      const scale = line.query.stat === 'Sum' ? 60 / state.periodSeconds : 1;
      widget.chart.data.datasets[i].data = points.map((p) => ({ x: p.timestamp, y: p.value * scale }));
    });
  }
  widget.chart.update('none');
  const count = widget.chart.data.datasets.reduce((sum, d) => sum + d.data.length, 0);
  if (count > 0) widget.canvas.dataset.points = String(count);
  else delete widget.canvas.dataset.points;
}

/** The little markdown CloudWatch text widgets use here: headings, paragraphs, line breaks, bold, links. */
function markdown(text) {
  const blocks = text.split(/\n{2,}/).map((block) => {
    const nodes = [];
    let paragraph;
    for (const line of block.split('\n')) {
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        nodes.push(el(`h${Math.min(heading[1].length, 4)}`, {}, inline(heading[2])));
        paragraph = undefined;
      } else if (paragraph === undefined) {
        paragraph = el('p', {}, inline(line));
        nodes.push(paragraph);
      } else {
        paragraph.append(el('br'), ...inline(line));
      }
    }
    return nodes;
  });
  return blocks.flat();
}

function inline(text) {
  const nodes = [];
  const pattern = /\*\*(.+?)\*\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    nodes.push(text.slice(last, match.index));
    nodes.push(
      match[1] !== undefined
        ? el('strong', {}, match[1])
        : el('a', { href: match[3], target: '_blank', rel: 'noopener noreferrer' }, match[2]),
    );
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

// ---- the refresh loop ----

function setStatus(text, isError) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.className = isError ? 'error' : '';
}

async function refresh() {
  const [dashboard, sites] = await Promise.all([getJson('/api/dashboard'), getJson('/api/sites')]);
  state.periodSeconds = Math.max(1, Number(dashboard.periodSeconds) || 5);
  document.getElementById('period').textContent =
    `a datapoint every ${state.periodSeconds} s (CloudWatch: 60 s), counts shown per minute · last 15 minutes`;
  renderRegions(sites.regions);
  renderCdn(sites.cdn, sites.regions);
  renderSites(sites.sites);
  // Rebuild the grid only when the reconciler wrote a new body; otherwise charts update in place.
  const bodyText = JSON.stringify(dashboard.body);
  if (bodyText !== state.bodyText) {
    renderDashboard(dashboard.body);
    state.bodyText = bodyText;
  }
  await refreshMetrics();
}

async function loop() {
  try {
    await refresh();
    setStatus(`updated ${clock(Date.now())}`, false);
  } catch (error) {
    setStatus(`cannot refresh: ${error.message}`, true);
  }
  setTimeout(loop, state.periodSeconds * 1000);
}

loop();
