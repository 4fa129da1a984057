/**
 * The local dashboard page's markup and styles. Everything it shows is drawn by
 * /dashboard.js (dashboard-client.js) from the page server's JSON API.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem local cloud</title>
<link rel="icon" href="data:,">
<style>
  :root {
    --bg: #f3f4f6; --card: #fff; --line: #dde1e6; --text: #1f2933; --muted: #5f6b7a;
    --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; --off: #8c959f;
  }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; background: var(--bg); color: var(--text);
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap;
    padding: 12px 20px; background: #111827; color: #f9fafb; }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; }
  header .meta { color: #aab2bf; font-size: 13px; }
  #status { margin-left: auto; font-size: 13px; color: #aab2bf; }
  #status.error { color: #ff8182; }
  main { padding: 16px 20px 32px; display: grid; gap: 16px; }
  h2.section { margin: 8px 0 0; font-size: 13px; font-weight: 600; text-transform: uppercase;
    letter-spacing: .04em; color: var(--muted); }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
  .muted { color: var(--muted); }
  .badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; font-weight: 700;
    letter-spacing: .03em; line-height: 18px; vertical-align: middle; }
  .badge.failed { background: var(--bad); color: #fff; }
  .badge.ok { background: #dafbe1; color: var(--good); }
  .strip { display: flex; gap: 8px; flex-wrap: wrap; align-items: flex-start; }
  #regions { display: flex; gap: 8px; flex-wrap: wrap; }
  .region { padding: 6px 12px; display: flex; gap: 8px; align-items: center; font-weight: 600; }
  .region.failed { border-color: var(--bad); background: #fff5f5; }
  /* Beside the regions: rates since the last refresh, then a line of totals since the CDN started. */
  #cdn { flex: 1 1 640px; padding: 6px 12px; display: flex; gap: 4px 18px; flex-wrap: wrap;
    align-items: center; font-variant-numeric: tabular-nums; }
  #cdn .cdn-title { font-weight: 600; }
  #cdn .figure { white-space: nowrap; }
  #cdn .figure b { font-weight: 600; }
  #cdn .unit { color: var(--muted); font-size: 12px; }
  #cdn .figure.warn b { color: var(--warn); } #cdn .figure.bad b { color: var(--bad); }
  .shares { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
  .share-bar { display: flex; width: 120px; height: 8px; border-radius: 4px; overflow: hidden;
    background: #eef0f3; }
  .share { white-space: nowrap; }
  .share.failed { color: var(--bad); }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px;
    vertical-align: -1px; }
  #cdn .totals { flex-basis: 100%; font-size: 12px; color: var(--muted); }
  #sites { display: grid; gap: 16px; }
  .site { padding: 14px 16px; display: grid; gap: 14px; }
  .site-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
  .site-head h3 { margin: 0; font-size: 17px; }
  /* Conditions and actions on the left; the tasks table and errors take the width the table needs. */
  .site-body { display: grid; gap: 16px 40px; grid-template-columns: minmax(0, 1fr) minmax(0, auto); }
  @media (max-width: 1000px) { .site-body { grid-template-columns: minmax(0, 1fr); } }
  .table-wrap { overflow-x: auto; }
  .site h4 { margin: 0 0 6px; font-size: 12px; font-weight: 600; text-transform: uppercase;
    letter-spacing: .04em; color: var(--muted); }
  .conditions { display: grid; gap: 6px; }
  .condition { display: grid; grid-template-columns: 10px auto 1fr; gap: 2px 8px; align-items: baseline; }
  .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--off); align-self: center; }
  .dot.good { background: var(--good); } .dot.bad { background: var(--bad); }
  .dot.warn { background: var(--warn); } .dot.info { background: var(--info); }
  .condition .type { font-weight: 600; }
  .condition .reason { color: var(--muted); font-size: 12px; }
  .condition .message { grid-column: 2 / 4; color: var(--muted); font-size: 13px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { padding: 4px 7px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
  th { font-size: 12px; font-weight: 600; color: var(--muted); }
  th:first-child, td:first-child { text-align: left; }
  td.note { text-align: left; white-space: normal; color: var(--bad); font-size: 12px; }
  td.note.muted { color: var(--muted); }
  thead tr:first-child th { border-bottom: none; padding-bottom: 0; }
  th.group { text-align: center; }
  ul.plain { margin: 0; padding: 0; list-style: none; display: grid; gap: 2px; font-size: 13px; }
  ul.plain code { font-size: 12px; background: #eef1f4; padding: 0 4px; border-radius: 3px; }
  ul.errors li { color: var(--bad); }
  #dashboard { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr));
    grid-auto-rows: 34px; gap: 8px; }
  .widget { padding: 8px 10px; display: flex; flex-direction: column; min-width: 0; min-height: 0;
    overflow: hidden; }
  .widget-title { font-size: 13px; line-height: 17px; font-weight: 600; margin: 0 0 4px; display: flex;
    gap: 6px; align-items: flex-start; justify-content: space-between; }
  .widget-title span:first-child { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
    overflow: hidden; }
  .widget-title .badge { flex: none; }
  .widget-error { font-size: 12px; color: var(--bad); }
  .chart { position: relative; flex: 1; min-height: 0; }
  .markdown { overflow: auto; }
  .markdown h1, .markdown h2, .markdown h3, .markdown h4 { margin: 0 0 4px; font-size: 16px; }
  .markdown p { margin: 0 0 6px; }
  .markdown a { color: var(--info); }
  .empty { padding: 16px; color: var(--muted); }
</style>
</head>
<body>
<header>
  <h1>tandem local cloud</h1>
  <span class="meta" id="period"></span>
  <span id="status">loading…</span>
</header>
<main>
  <div class="strip">
    <div id="regions" aria-label="regions"></div>
    <div id="cdn" class="card" aria-label="CDN" hidden></div>
  </div>
  <h2 class="section">Sites</h2>
  <div id="sites"></div>
  <h2 class="section">Dashboard</h2>
  <div id="dashboard"></div>
</main>
<script src="/chart.js"></script>
<script type="module" src="/dashboard.js"></script>
</body>
</html>
`;
