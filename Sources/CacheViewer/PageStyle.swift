extension ViewerPage {
    /// `/app.css`: light theme with AA contrast.
    public static let style = #"""
:root { --bg: #f5f6f8; --panel: #ffffff; --text: #1b1f24; --muted: #505a66; --line: #d5dae1;
        --accent: #0b5cad; --ok: #126b2f; --ok-bg: #e3f4e8; --bad: #a3161b; --bad-bg: #fbe7e8;
        --warn: #7a4b00; --hl: #fff0a8; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 20px; background: #15202b; color: #f4f6f8; }
h1 { font-size: 18px; margin: 0; font-weight: 600; }
main { padding: 16px 20px 40px; }
.muted { color: var(--muted); }
.warn { color: var(--warn); font-weight: 600; }
.conn { padding: 3px 10px; border-radius: 12px; font-size: 13px; font-weight: 600; }
.conn::before { content: "●"; margin-right: 6px; }
.conn.up { background: #d8f3df; color: #0d4d22; }
.conn.down { background: #fde2e2; color: #7d1014; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 14px; }
.status-line, .task-line { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; margin-bottom: 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.running { background: var(--ok-bg); color: var(--ok); }
.badge.idle { background: #e8ebef; color: #39424d; }
.badge.multipart { background: #e6eefb; color: #0b4a8f; }
a { color: var(--accent); }
.progress { height: 10px; background: #e3e7ec; border-radius: 5px; overflow: hidden; margin: 6px 0 4px; }
#progress-bar { height: 100%; width: 0; background: var(--accent); transition: width .4s ease; }
#cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr)); gap: 10px; margin-bottom: 14px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 20px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card.bad .value { color: var(--bad); }
.controls { display: flex; flex-wrap: wrap; gap: 10px 20px; align-items: center; margin-bottom: 10px; }
.controls input, .controls select { font: inherit; padding: 4px 8px; border: 1px solid #9aa4b0; border-radius: 5px; background: #fff; color: var(--text); }
.controls input { width: 280px; }
.table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { position: sticky; top: 0; background: #eef1f4; cursor: pointer; user-select: none; white-space: nowrap; font-weight: 600; }
th:focus { outline: 2px solid var(--accent); outline-offset: -2px; }
th[aria-sort="ascending"]::after { content: " ▲"; font-size: 10px; }
th[aria-sort="descending"]::after { content: " ▼"; font-size: 10px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.c-partition { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; min-width: 16em; overflow-wrap: anywhere; }
.md5 { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.s3.ok { color: var(--ok); font-weight: 600; }
.s3.none { color: var(--muted); }
tr.has-error td.c-lastError { color: var(--bad); background: var(--bad-bg); }
td.c-lastError { max-width: 360px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; }
td.c-lastError.expanded { white-space: pre-wrap; word-break: break-word; overflow: visible; }
.conn.ended { background: #e3e7ec; color: #2b3440; }
#workers { display: grid; gap: 4px; margin-top: 8px; font-size: 13px; }
.worker { display: grid; grid-template-columns: 5em 15em 11.5em 26em 7em; justify-content: start; gap: 12px; align-items: center; }
.worker .w-slice { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.worker .w-stage { justify-self: start; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e6eefb; color: #0b4a8f; white-space: nowrap; }
.worker .w-rows { display: flex; align-items: center; gap: 8px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.worker .w-bytes { text-align: right; font-variant-numeric: tabular-nums; }
.worker .bar { flex: 0 0 9em; height: 8px; background: #e3e7ec; border-radius: 4px; overflow: hidden; }
.worker .bar > div { height: 100%; background: var(--accent); }
td.c-age, td.c-errorTime, td.c-retired { white-space: nowrap; }
.badge.retired { background: #efe7fb; color: #4b2a86; }
td.c-retired { cursor: pointer; }
td.c-retired .retired-detail { display: none; font-size: 12px; color: var(--muted); }
td.c-retired.expanded .retired-detail { display: block; white-space: normal; overflow-wrap: anywhere; max-width: 22em; }
.changed { animation: changed 1.6s ease-out; }
@keyframes changed { from { background-color: var(--hl); } to { background-color: transparent; } }
@media (prefers-reduced-motion: reduce) { .changed { animation-duration: .01s; } #progress-bar { transition: none; } }
"""#
}
