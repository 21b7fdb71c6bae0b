/// The viewer's page, script and style sheet, embedded in the binary (no external asset).
public enum ViewerPage {
    /// `/`: the page. Every value is filled in by the script through `textContent`.
    public static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgarchive cache viewer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>pgarchive cache viewer</h1>
  <span id="conn" class="conn down" role="status" aria-live="polite">connecting…</span>
</header>
<main>
<section id="status" class="panel" aria-label="archiver status">
  <div class="status-line">
    <span id="run-state" class="badge idle">idle</span>
    <span id="run-pid"></span>
    <span id="run-elapsed"></span>
    <span id="run-stale" class="warn" hidden>stale archiver.pid (the archiver is not running)</span>
  </div>
  <div id="task" class="task-line" hidden>
    <span>table <b id="task-table"></b></span>
    <span>task <b id="task-name"></b></span>
    <span>partition <a id="task-partition" href="#"></a></span>
    <span>step <b id="task-step"></b></span>
  </div>
  <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" id="progress"><div id="progress-bar"></div></div>
  <div id="progress-text" class="muted">no run in progress</div>
  <div id="workers" aria-label="workers"></div>
</section>
<section id="cards" aria-label="totals">
  <div class="card"><div class="label">Partitions</div><div class="value" id="stat-total">0</div></div>
  <div class="card"><div class="label">Processed</div><div class="value" id="stat-processed">0</div></div>
  <div class="card"><div class="label">Uploaded</div><div class="value" id="stat-uploaded">0</div></div>
  <div class="card"><div class="label">Errors</div><div class="value" id="stat-errors">0</div></div>
  <div class="card"><div class="label">Retired</div><div class="value" id="stat-retired">0</div></div>
  <div class="card"><div class="label">Compressed</div><div class="value" id="stat-compressed">0 B</div></div>
  <div class="card"><div class="label">Uncompressed</div><div class="value" id="stat-uncompressed">0 B</div></div>
  <div class="card"><div class="label">Ratio</div><div class="value" id="stat-ratio">–</div></div>
  <div class="card"><div class="label">Total rows</div><div class="value" id="stat-rows">0</div></div>
</section>
<section class="controls">
  <label>Table <select id="table-filter"><option value="">all tables</option></select></label>
  <label>Search <input id="search" type="search" placeholder="partition, key, MD5, error, retired"></label>
  <span id="shown" class="muted"></span>
  <button id="page-prev" type="button" disabled>‹ previous</button>
  <button id="page-next" type="button" disabled>next ›</button>
</section>
<div class="table-wrap">
<table id="entries">
  <thead><tr>
    <th data-key="partition" aria-sort="ascending">Partition</th>
    <th data-key="rowCount" class="num">Rows</th>
    <th data-key="uncompressedSize" class="num">Uncompressed</th>
    <th data-key="fileSize" class="num">Compressed</th>
    <th data-key="ratio" class="num">Ratio</th>
    <th data-key="fileMD5">MD5</th>
    <th data-key="age">Age</th>
    <th data-key="s3">S3</th>
    <th data-key="retired" title="when retire removed the rows from PostgreSQL, and how">Retired</th>
    <th data-key="lastError">Last error</th>
    <th data-key="errorTime">Error time</th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
<p id="empty" class="muted">No cache entries yet.</p>
</main>
</body>
</html>
"""#
}
