// No vscode import: tests render this page outside VS Code.

/** The page around the view; tests render the same page outside VS Code. */
export function graphViewHtml(o: { csp: string; nonce: string; script: string; style: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${o.csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${o.style}">
<title>lockpath graph</title>
</head>
<body>
<header>
  <h1 id="title">lockpath</h1>
  <span id="modes" role="group" aria-label="view" hidden><button id="mode-lanes" aria-pressed="true">Lanes</button><button id="mode-graph" aria-pressed="false">Graph</button></span>
  <span id="note" role="status"></span>
  <span id="narrow"></span>
  <span id="filters" aria-label="edge kinds"></span>
  <input id="search" type="search" placeholder="find a function" aria-label="find a function">
  <label><input id="hide-tests" type="checkbox"> hide tests</label>
  <label><input id="hide-deps" type="checkbox"> hide deps/</label>
  <button id="export-svg">SVG</button><button id="export-png">PNG</button><button id="export-dot">DOT</button><button id="export-mermaid">Mermaid</button>
  <span id="legend" aria-label="thread contexts"></span>
  <span id="keys">Tab: next function · Enter: open · [ ]: callers/callees · arrows: pan · + −: zoom · f: fit</span>
</header>
<div id="graph" role="group" aria-label="call graph"></div>
<script nonce="${o.nonce}" src="${o.script}"></script>
</body>
</html>`;
}
