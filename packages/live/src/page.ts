// The page shell: markup and styles. The charts are drawn by the browser modules in
// dist/client (src/client), which fetch the metrics themselves.

export interface PageSettings {
  metricsPath: string;
  intervalMs: number;
  assetPrefix: string;
  /** Where the history is, when the process keeps one. */
  historyPath?: string;
}

// Kept apart from the markup so the server can hash it for the Content-Security-Policy.
export const STYLE: string = `
:root {
  --bg: #f4f6f8; --card: #ffffff; --text: #18202b; --muted: #5a6472; --grid: #e2e6eb; --border: #dde2e8;
  --s1: #2563eb; --s2: #d97706; --s3: #7c3aed; --s4: #dc2626; --s5: #0d9488;
  --ok-bg: #dcfce7; --ok: #166534; --warn-bg: #fef3c7; --warn: #92400e;
  --info-bg: #e0ecff; --info: #1e3a8a; --error-bg: #fee2e2; --error: #991b1b;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151b; --card: #1a2029; --text: #e6e9ee; --muted: #9aa4b2; --grid: #2a313c; --border: #2a313c;
    --s1: #60a5fa; --s2: #fbbf24; --s3: #a78bfa; --s4: #f87171; --s5: #2dd4bf;
    --ok-bg: #14532d; --ok: #bbf7d0; --warn-bg: #78350f; --warn: #fde68a;
    --info-bg: #1e3a8a; --info: #dbeafe; --error-bg: #7f1d1d; --error: #fee2e2;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.top { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; padding: 12px 20px 10px; }
h1 { font-size: 18px; margin: 0; }
#facts { color: var(--muted); font-variant-numeric: tabular-nums; }
.top nav { margin-left: auto; display: flex; gap: 12px; align-items: baseline; font-size: 13px; }
.top a { color: var(--s1); }
#live { font-size: 12px; padding: 2px 8px; border-radius: 10px; }
#live.ok { background: var(--ok-bg); color: var(--ok); }
#live.stale { background: var(--warn-bg); color: var(--warn); }
#banner { margin: 0 20px 12px; padding: 10px 14px; border-radius: 6px; background: var(--card); border: 1px solid var(--border); }
#banner.info { background: var(--info-bg); color: var(--info); border-color: transparent; }
#banner.error { background: var(--error-bg); color: var(--error); border-color: transparent; }
#cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; padding: 0 20px 20px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; padding: 10px 12px 8px; min-width: 0; }
.card header { display: flex; flex-direction: column; gap: 2px; }
h2 { font-size: 13px; font-weight: 600; margin: 0; }
.legend { display: flex; gap: 2px 12px; flex-wrap: wrap; font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.key::before { content: ""; display: inline-block; width: 12px; height: 3px; border-radius: 2px; margin-right: 5px; vertical-align: middle; }
.key.s1::before { background: var(--s1); } .key.s2::before { background: var(--s2); } .key.s3::before { background: var(--s3); }
.key.s4::before { background: var(--s4); } .key.s5::before { background: var(--s5); }
.plot { position: relative; height: 132px; margin-top: 6px; }
.plot svg { display: block; }
.line { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; }
.line.s1 { stroke: var(--s1); } .line.s2 { stroke: var(--s2); } .line.s3 { stroke: var(--s3); }
.line.s4 { stroke: var(--s4); } .line.s5 { stroke: var(--s5); }
.dot.s1 { fill: var(--s1); } .dot.s2 { fill: var(--s2); } .dot.s3 { fill: var(--s3); }
.dot.s4 { fill: var(--s4); } .dot.s5 { fill: var(--s5); }
.grid { stroke: var(--grid); stroke-width: 1; }
.axis { fill: var(--muted); font-size: 10px; font-variant-numeric: tabular-nums; }
.empty { position: absolute; inset: 0 0 18px 52px; display: none; align-items: center; justify-content: center;
  text-align: center; color: var(--muted); font-size: 13px; padding: 0 12px; }
.empty span { background: var(--card); padding: 2px 8px; border-radius: 4px; }
.is-empty .empty { display: flex; }
.disks { display: flex; flex-direction: column; gap: 10px; margin-top: 10px; }
.disk { display: grid; grid-template-columns: minmax(60px, 30%) 1fr; gap: 2px 10px; align-items: center; }
.disk-name { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar { height: 10px; background: var(--grid); border-radius: 5px; overflow: hidden; }
.fill { height: 100%; background: var(--s5); }
.fill.high { background: var(--s4); }
.disk-figures { grid-column: 2; font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.disk-empty { color: var(--muted); margin: 24px 0; text-align: center; }
.wide { grid-column: 1 / -1; }
.routes table { width: 100%; border-collapse: collapse; margin-top: 6px; font-variant-numeric: tabular-nums; }
.routes th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 4px 8px; border-bottom: 1px solid var(--grid); }
.routes td { padding: 4px 8px; border-bottom: 1px solid var(--grid); font-size: 13px; }
.routes td:first-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.routes td.none { font-family: inherit; color: var(--muted); }
.routes .num { text-align: right; width: 8em; }
.routes .bad { color: var(--s4); }
.routes-empty, .routes-more { color: var(--muted); margin: 10px 0 4px; }
noscript p { margin: 0 20px; }
`;

export function renderPage(settings: PageSettings): string {
  const metrics = escapeHtml(settings.metricsPath);
  // Shown to the user and linked: the endpoint without the query the page polls with (`?peek=1`).
  const shown = escapeHtml(settings.metricsPath.split('?')[0] || settings.metricsPath);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="mon-metrics-path" content="${metrics}">
<meta name="mon-interval" content="${settings.intervalMs}">${settings.historyPath === undefined ? '' : `\n<meta name="mon-history-path" content="${escapeHtml(settings.historyPath)}">`}
<title>mon live</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
<script type="module" src="${escapeHtml(settings.assetPrefix)}main.js"></script>
</head>
<body>
<div class="top">
<h1 id="service">mon</h1>
<span id="facts"></span>
<nav><span id="live" class="stale">connecting</span><a id="metrics-link" href="${shown}">${shown}</a></nav>
</div>
<div id="banner">Connecting to ${shown}…</div>
<noscript><p>This page draws its charts with JavaScript. The raw figures are at <a href="${shown}">${shown}</a>.</p></noscript>
<main id="cards"></main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
