package serve

import "html/template"

// pages is every page: one layout, the content chosen by what page holds.
// html/template escapes every value for where it lands (text, attribute,
// URL), so whatever a query says comes back as text.
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Pod Ashiato</title>
<style>` + css + `</style>
</head>
<body>
<header class="top">
  <a class="brand" href="/"><svg class="logo" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><g fill="#7ee787"><ellipse cx="8" cy="15" rx="3.2" ry="5"/><circle cx="5.6" cy="8.2" r="1.1"/><circle cx="8" cy="7.4" r="1.2"/><circle cx="10.4" cy="8.2" r="1.1"/><ellipse cx="16.5" cy="10" rx="3.2" ry="5"/><circle cx="14.1" cy="3.2" r="1.1"/><circle cx="16.5" cy="2.4" r="1.2"/><circle cx="18.9" cy="3.2" r="1.1"/></g></svg>Pod Ashiato</a>
  <span class="muted">history in <b id="where">{{.Where}}</b> · read-only</span>
  {{if .Clusters}}<nav class="clusters" id="clusters" aria-label="Cluster">Cluster:{{range .Clusters}} <a href="{{.Link}}"{{if .Current}} class="current" aria-current="page"{{end}}>{{.Name}}</a>{{end}}</nav>{{end}}
</header>
<main>
<section class="toolbar">
  <form class="search" action="/node" method="get">
    {{if .Query.Cluster}}<input type="hidden" name="cluster" value="{{.Query.Cluster}}">{{end}}
    <label>Node<input name="node" value="{{.Query.Node}}" placeholder="worker-1" required></label>
    {{$n := .Query.Node}}
    <label>at<input class="time" name="at" value="{{if $n}}{{.Query.At}}{{end}}" placeholder="2026-11-26 14:02"></label>
    <label>or since<input class="time" name="since" value="{{if $n}}{{.Query.Since}}{{end}}" placeholder="6h"></label>
    <label>until<input class="time" name="until" value="{{if $n}}{{.Query.Until}}{{end}}" placeholder="now"></label>
    <button type="submit">Show node</button>
  </form>
  <form class="search" action="/pod" method="get">
    {{if .Query.Cluster}}<input type="hidden" name="cluster" value="{{.Query.Cluster}}">{{end}}
    <label>Pod<input name="pod" value="{{.Query.Pod}}" placeholder="shop/web-0" required></label>
    {{$p := .Query.Pod}}
    <label>since<input class="time" name="since" value="{{if $p}}{{.Query.Since}}{{end}}" placeholder="24h"></label>
    {{if and $p .Query.Until}}<input type="hidden" name="until" value="{{.Query.Until}}">{{end}}
    <button type="submit">Show pod</button>
  </form>
</section>
{{if .Error}}
<div class="error" role="alert" id="error"><b>{{.Status}}</b> {{.Error}}</div>
{{end}}
{{if .Viewer}}<p class="muted" id="viewer">Showing what {{.Viewer}} may see.</p>{{end}}
{{if .Hidden}}<div class="error" role="status" id="hidden">{{.Hidden}}</div>{{end}}
{{if .Window}}
<section class="card">
  <div class="heading">
    <div>
      <h1>{{.Title}}</h1>
      <p class="muted" id="window">{{.Window}} (UTC)</p>
    </div>
    <div class="twins">
      {{if .Incident}}<a class="incident" id="incident-link" href="{{.Incident}}">Incident view</a>{{end}}
      {{if .NodePage}}<a id="node-link" href="{{.NodePage}}">Node view</a>{{end}}
      {{if .JSON}}<a href="{{.JSON}}">JSON</a>{{end}}
      {{if .Pic}}<a href="{{.Pic}}">SVG</a>{{end}}
    </div>
  </div>
  {{if .Summary}}<div class="stats" id="summary">{{range .Summary}}<div class="stat"><b>{{.Value}}</b><span>{{.Label}}</span></div>{{end}}</div>{{end}}
  {{if .SVG}}<figure class="timeline" id="timeline">{{.SVG}}</figure>{{end}}
  {{if .Empty}}<p class="empty" id="empty">{{.Empty}}</p>{{end}}
</section>
{{end}}
{{block "extra" .}}{{end}}
{{if .Rows}}
<section class="card">
  <h2>{{if .Summary}}Pods on the node at the incident{{else if .Query.Node}}Pods{{else}}Placements{{end}} <span class="count">{{len .Rows}}</span></h2>
  <table id="rows">
    <thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
    <tbody>{{range .Rows}}<tr>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}>{{if .Link}}<a href="{{.Link}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>{{end}}</tbody>
  </table>
</section>
{{end}}
{{if .Events}}
<section class="card">
  <h2>Node lifecycle</h2>
  <table id="node-events">
    <thead><tr><th>Time</th><th>Node</th><th>Event</th><th>Reason</th></tr></thead>
    <tbody>{{range .Events}}<tr><td>{{.Timestamp}}</td><td>{{.Node}}</td><td><span class="ev ev-{{.Event}}">{{.Event}}</span></td><td>{{.Reason}}</td></tr>{{end}}</tbody>
  </table>
</section>
{{end}}
{{if .NodesNote}}
<section class="card">
  <h2>Nodes</h2>
  <p class="muted">{{.NodesNote}}</p>
  {{if .Nodes}}<table id="nodes">
    <thead><tr><th>Node</th><th>Pods</th></tr></thead>
    <tbody>{{range .Nodes}}<tr><td><a href="{{.Link}}">{{.Node}}</a></td><td>{{.Pods}}</td></tr>{{end}}</tbody>
  </table>{{end}}
</section>
{{end}}
{{if .Warnings}}
<section class="card warnings">
  <h2>Damaged values in the store</h2>
  <ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>
</section>
{{end}}
</main>
</body>
</html>
`))

const css = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328; background: #f6f8fa; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { background: #24292f; color: #fff; padding: 10px 24px; display: flex; align-items: baseline; gap: 18px; }
header.top .brand { color: #fff; font-weight: 700; font-size: 17px; display: inline-flex; align-items: center; gap: 8px; }
header.top .muted { color: #afb8c1; }
header.top .clusters { color: #afb8c1; margin-left: auto; }
header.top .clusters a { color: #7ee787; margin-left: 6px; }
header.top .clusters a.current { font-weight: bold; text-decoration: underline; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 40px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 10px; }
.muted { color: #57606a; margin: 2px 0 0; }
.toolbar { display: flex; flex-wrap: wrap; gap: 12px; }
form.search { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; }
form.search label { display: flex; flex-direction: column; font-size: 11px; color: #57606a; gap: 2px; }
form.search input { font: inherit; padding: 5px 8px; border: 1px solid #d0d7de; border-radius: 6px; width: 10em; }
form.search input.time { width: 11.2em; }
form.search button { font: inherit; font-weight: 600; background: #1f883d; color: #fff; border: 0; border-radius: 6px; padding: 6px 14px; cursor: pointer; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px; margin-top: 16px; }
.heading { display: flex; justify-content: space-between; align-items: flex-start; gap: 12px; margin-bottom: 8px; }
.twins a { display: inline-block; margin-left: 6px; font-size: 12px; padding: 3px 10px; border: 1px solid #d0d7de; border-radius: 14px; }
.twins a.incident { background: #cf222e; border-color: #cf222e; color: #fff; font-weight: 600; }
figure.timeline { margin: 0; overflow-x: auto; }
figure.timeline svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-size: 12px; font-weight: 600; color: #57606a; border-bottom: 1px solid #d0d7de; padding: 6px 8px; }
td { padding: 5px 8px; border-bottom: 1px solid #eaeef2; font-variant-numeric: tabular-nums; }
tbody tr:hover td { background: #f6f8fa; }
.count { font-weight: 400; color: #57606a; font-size: 12px; background: #eaeef2; border-radius: 10px; padding: 1px 8px; margin-left: 4px; }
.error { background: #ffebe9; border: 1px solid #ff8182; border-radius: 8px; padding: 10px 14px; margin-top: 16px; overflow-wrap: anywhere; }
.empty { color: #57606a; }
.ev { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #eaeef2; }
.ev-node_ready { background: #dafbe1; } .ev-node_not_ready, .ev-node_unknown, .ev-node_deleted { background: #ffebe9; }
.ev-node_cordoned, .ev-node_tainted { background: #fff8c5; }
.warnings { border-color: #d4a72c; }
.replaced { color: #1a7f37; } .lost { color: #cf222e; font-weight: 600; }
td.replacement a { font-weight: 600; }
.stats { display: flex; gap: 10px; flex-wrap: wrap; margin: 4px 0 12px; }
.stat { border: 1px solid #d0d7de; border-radius: 8px; padding: 6px 14px; min-width: 120px; background: #f6f8fa; }
.stat b { display: block; font-size: 20px; }
.stat span { font-size: 12px; color: #57606a; }
`
