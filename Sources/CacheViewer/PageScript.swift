extension ViewerPage {
    /// `/app.js`: live updates over `/ws`; values only ever reach the page as text.
    public static let script = #"""
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const rows = new Map();          // row id -> {tr, cells, data}
  const state = { cacheSeen: false, sortKey: "partition", sortDir: 1, tableFilter: "", search: "", entries: [], status: null };
  let socket = null, backoff = 1000, reconnectTimer = null, connectedOnce = false;

  // ---- formatting (all results are plain strings put into textContent) ----
  const isSet = (t) => typeof t === "string" && t !== "" && Date.parse(t) > Date.UTC(1971, 0, 1);
  function bytes(n) {
    if (!n) return "0 B";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
  }
  const count = (n) => Number(n || 0).toLocaleString("en-US");
  function ratio(e) { return e.fileSize > 0 && e.uncompressedSize > 0 ? e.uncompressedSize / e.fileSize : 0; }
  function age(t) {
    if (!isSet(t)) return "–";
    let s = Math.max(0, Math.floor((Date.now() - Date.parse(t)) / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
  }
  function duration(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60); s = s % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }
  const timeText = (t) => isSet(t) ? new Date(Date.parse(t)).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "–";
  const entryTime = (e) => isSet(e.s3UploadTime) ? e.s3UploadTime : e.fileTime;

  // ---- change highlighting without re-rendering ----
  function setText(el, text, highlight) {
    if (el.textContent === text) return;
    el.textContent = text;
    if (highlight) flash(el);
  }
  function flash(el) {
    el.classList.remove("changed");
    void el.offsetWidth;           // restart the animation
    el.classList.add("changed");
  }
  document.addEventListener("animationend", (ev) => ev.target.classList.remove("changed"));

  // ---- connection ----
  function setConnection(kind, text) {
    const c = $("conn");
    c.className = "conn " + kind;
    c.textContent = text;
  }
  function connect() {
    reconnectTimer = null;
    setConnection("down", "connecting…");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    socket.onopen = () => { backoff = 1000; connectedOnce = true; setConnection("up", "live"); };
    socket.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "cache") applyCache(msg.data);
      else if (msg.type === "status") applyStatus(msg.data);
    };
    socket.onclose = () => { socket = null; scheduleReconnect(); };
    socket.onerror = () => { if (socket) socket.close(); };
  }
  function scheduleReconnect() {
    if (reconnectTimer) return;
    const wait = backoff;
    backoff = Math.min(backoff * 2, 30000);
    setConnection("down", (connectedOnce ? "disconnected" : "not connected") + " – retrying in " + Math.round(wait / 1000) + "s");
    reconnectTimer = setTimeout(connect, wait);
  }

  // ---- status panel ----
  function applyStatus(s) {
    const hl = state.status !== null;   // no highlight on the first picture
    state.status = s;
    const running = !!s.archiverRunning;
    const badge = $("run-state");
    badge.className = "badge " + (running ? "running" : "idle");
    setText(badge, running ? "running" : "idle", hl);
    setText($("run-pid"), s.pid != null && running ? "PID " + s.pid : "", false);
    $("run-stale").hidden = !s.stalePidFile;
    const t = s.currentTask;
    $("task").hidden = !t;
    if (t) {
      setText($("task-table"), String(t.table || ""), hl);
      setText($("task-name"), String(t.current_task || ""), hl);
      const link = $("task-partition");
      setText(link, String(t.current_partition || "–"), hl);
      link.dataset.partition = String(t.current_partition || "");
      setText($("task-step"), String(t.current_step || "–"), hl);
      let done = 0, total = 0;
      if (s.isSlicing && t.total_slices > 0) { done = t.slices_processed; total = t.total_slices; }
      else if (t.total_items > 0) { done = t.completed_items; total = t.total_items; }
      else if (t.total_partitions > 0) { done = t.partitions_processed; total = t.total_partitions; }
      const pct = total > 0 ? Math.min(100, Math.round(done * 1000 / total) / 10) : (Number(t.progress) || 0);
      $("progress-bar").style.width = pct + "%";
      $("progress").setAttribute("aria-valuenow", String(pct));
      setText($("progress-text"), total > 0 ? count(done) + " / " + count(total) + " (" + pct + "%)" : pct + "%", hl);
    } else {
      $("progress-bar").style.width = "0%";
      $("progress").setAttribute("aria-valuenow", "0");
      setText($("progress-text"), "no run in progress", false);
    }
    tick();
  }
  function tick() {
    const s = state.status, t = s && s.currentTask;
    setText($("run-elapsed"), s && s.archiverRunning && t && isSet(t.start_time) ? "running for " + duration(Date.now() - Date.parse(t.start_time)) : "", false);
  }
  $("task-partition").addEventListener("click", (ev) => {
    ev.preventDefault();
    const name = ev.currentTarget.dataset.partition;
    for (const r of rows.values()) {
      if (r.data.partition === name || r.data.s3Key === name || r.data.partition.endsWith("/" + name) || r.data.partition.indexOf(name) >= 0) {
        r.tr.hidden = false;
        r.tr.scrollIntoView({ behavior: "smooth", block: "center" });
        flash(r.tr);
        return;
      }
    }
  });

  // ---- cache table ----
  const columns = ["partition", "rowCount", "uncompressedSize", "fileSize", "ratio", "fileMD5", "age", "s3", "lastError", "errorTime"];
  function makeRow(id) {
    const tr = document.createElement("tr");
    tr.dataset.id = id;
    const cells = {};
    for (const c of columns) {
      const td = document.createElement("td");
      td.className = "c-" + c;
      if (["rowCount", "uncompressedSize", "fileSize", "ratio"].includes(c)) td.classList.add("num");
      tr.appendChild(td);
      cells[c] = td;
    }
    const md5 = document.createElement("span");
    md5.className = "md5";
    const badge = document.createElement("span");
    badge.className = "badge multipart";
    badge.textContent = "multipart";
    badge.hidden = true;
    cells.fileMD5.append(md5, " ", badge);
    cells.md5 = md5; cells.multipart = badge;
    const s3 = document.createElement("span");
    s3.className = "s3";
    cells.s3.appendChild(s3);
    cells.s3badge = s3;
    return { tr, cells, data: null };
  }
  function fillRow(r, e, highlight) {
    const c = r.cells;
    r.tr.dataset.partition = e.partition;
    r.tr.dataset.table = e.table;
    setText(c.partition, e.partition, highlight);
    c.partition.title = e.s3Key || e.partition;
    setText(c.rowCount, e.rowCount ? count(e.rowCount) : "–", highlight);
    setText(c.uncompressedSize, e.uncompressedSize ? bytes(e.uncompressedSize) : "–", highlight);
    setText(c.fileSize, e.fileSize ? bytes(e.fileSize) : "–", highlight);
    const q = ratio(e);
    setText(c.ratio, q ? q.toFixed(2) + "×" : "–", highlight);
    setText(c.md5, e.fileMD5 || "–", highlight);
    c.md5.title = e.multipartETag ? "multipart ETag " + e.multipartETag : (e.fileMD5 || "");
    c.multipart.hidden = !e.multipartETag;
    setText(c.age, age(entryTime(e)), false);
    const retired = isSet(e.retiredTime) ? ", retired (" + e.retireMode + ", " + e.retiredRows + " rows, " + e.retiredTime + ")" : "";
    const s3text = (e.s3Uploaded ? "uploaded" : (e.fileSize > 0 ? "local only" : "–")) + retired;
    c.s3badge.className = "s3 " + (e.s3Uploaded ? "ok" : "none");
    setText(c.s3badge, s3text, highlight);
    setText(c.lastError, e.lastError || "", highlight);
    r.tr.classList.toggle("has-error", !!e.lastError);
    setText(c.errorTime, e.lastError ? timeText(e.errorTime) : "", highlight);
    r.data = e;
  }
  function applyCache(doc) {
    const seen = new Set();
    const entries = [];
    const tables = new Set();
    for (const group of (doc && doc.tables) || []) {
      tables.add(group.tableName);
      for (const e of group.entries || []) {
        const id = group.file + "\u0000" + e.partition;
        seen.add(id);
        entries.push(e);
        let r = rows.get(id);
        const fresh = !r;
        if (fresh) { r = makeRow(id); rows.set(id, r); }
        fillRow(r, e, !fresh);
        if (fresh && state.cacheSeen) flash(r.tr);
      }
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
    state.entries = entries;
    updateTableFilter(tables);
    order();
    applyFilter();
    state.cacheSeen = true;
  }
  function updateTableFilter(tables) {
    const select = $("table-filter");
    const have = new Set(Array.from(select.options).map((o) => o.value));
    for (const t of Array.from(tables).sort()) {
      if (!have.has(t)) { const o = document.createElement("option"); o.value = t; o.textContent = t; select.appendChild(o); }
    }
  }
  function sortValue(d, key) {
    switch (key) {
      case "ratio": return ratio(d);
      case "age": { const t = entryTime(d); return isSet(t) ? -Date.parse(t) : -Infinity; }
      case "s3": return d.s3Uploaded ? 2 : (d.fileSize > 0 ? 1 : 0);
      case "errorTime": return d.lastError && isSet(d.errorTime) ? Date.parse(d.errorTime) : 0;
      default: return d[key];
    }
  }
  function order() {
    const list = Array.from(rows.values());
    const k = state.sortKey, dir = state.sortDir;
    list.sort((a, b) => {
      const x = sortValue(a.data, k), y = sortValue(b.data, k);
      let r = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y), "en", { numeric: true }) : (x > y) - (x < y);
      if (r === 0) r = a.data.partition.localeCompare(b.data.partition, "en", { numeric: true });
      return r * dir;
    });
    const body = document.querySelector("#entries tbody");
    let i = 0;
    for (const r of list) {               // move only rows out of place: no flashing
      if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
      i++;
    }
  }
  function applyFilter() {
    const q = state.search.toLowerCase(), t = state.tableFilter;
    let shown = 0;
    const visible = [];
    for (const r of rows.values()) {
      const d = r.data;
      const ok = (!t || d.table === t) && (!q || [d.partition, d.s3Key, d.fileMD5, d.multipartETag, d.lastError].some((v) => String(v || "").toLowerCase().includes(q)));
      r.tr.hidden = !ok;
      if (ok) { shown++; visible.push(d); }
    }
    setText($("shown"), rows.size ? shown + " of " + rows.size + " shown" : "", false);
    $("empty").hidden = rows.size > 0;
    updateCards(visible);
  }
  function updateCards(list) {
    let processed = 0, uploaded = 0, errors = 0, comp = 0, uncomp = 0, rowsTotal = 0, compWithU = 0;
    for (const d of list) {
      if (d.fileSize > 0 || isSet(d.fileTime)) processed++;
      if (d.s3Uploaded) uploaded++;
      if (d.lastError) errors++;
      comp += d.fileSize || 0;
      rowsTotal += d.rowCount || 0;
      if (d.uncompressedSize > 0 && d.fileSize > 0) { uncomp += d.uncompressedSize; compWithU += d.fileSize; }
    }
    setText($("stat-total"), count(list.length), state.cacheSeen);
    setText($("stat-processed"), count(processed), state.cacheSeen);
    setText($("stat-uploaded"), count(uploaded), state.cacheSeen);
    setText($("stat-errors"), count(errors), state.cacheSeen);
    $("stat-errors").parentElement.classList.toggle("bad", errors > 0);
    setText($("stat-compressed"), bytes(comp), state.cacheSeen);
    setText($("stat-uncompressed"), bytes(uncomp), state.cacheSeen);
    setText($("stat-ratio"), compWithU > 0 ? (uncomp / compWithU).toFixed(2) + "×" : "–", state.cacheSeen);
    setText($("stat-rows"), count(rowsTotal), state.cacheSeen);
  }

  // ---- controls ----
  for (const th of document.querySelectorAll("#entries th")) {
    th.tabIndex = 0;
    const sortBy = () => {
      const k = th.dataset.key;
      state.sortDir = state.sortKey === k ? -state.sortDir : 1;
      state.sortKey = k;
      for (const o of document.querySelectorAll("#entries th")) o.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
      order();
    };
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(); } });
  }
  $("table-filter").addEventListener("change", (ev) => { state.tableFilter = ev.target.value; applyFilter(); });
  $("search").addEventListener("input", (ev) => { state.search = ev.target.value; applyFilter(); });

  setInterval(() => {
    tick();
    for (const r of rows.values()) if (r.data) setText(r.cells.age, age(entryTime(r.data)), false);
  }, 1000);

  // A first picture over REST, then live updates over the WebSocket.
  fetch("/api/cache").then((r) => r.json()).then((d) => { if (!rows.size) applyCache(d); }).catch(() => {});
  fetch("/api/status").then((r) => r.json()).then((s) => { if (!state.status) applyStatus(s); }).catch(() => {});
  connect();
})();
"""#
}
