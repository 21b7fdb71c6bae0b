extension ViewerPage {
    /// `/app.js`: live updates over `/ws`; values only ever reach the page as text.
    public static let script = #"""
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const rows = new Map();          // row id -> {tr, cells, data}
  // The server holds the entries: the page asks for one sorted, filtered page at a time.
  const state = { cacheSeen: false, sortKey: "partition", sortDir: 1, tableFilter: "", search: "", status: null,
                  offset: 0, limit: 100, total: 0, count: 0 };
  let pageRequest = 0, refetchTimer = null, searchTimer = null;
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
  // The slice's name: the object's file name without its extensions (the key is the tooltip).
  function sliceName(e) {
    const key = String(e.s3Key || e.partition || "");
    const file = key.slice(key.lastIndexOf("/") + 1);
    const dot = file.indexOf(".");
    return dot > 0 ? file.slice(0, dot) : (file || key);
  }

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
      if (msg.type === "cache") requestPage();
      else if (msg.type === "delta") applyDelta(msg.data);
      else if (msg.type === "status") applyStatus(msg.data);
    };
    socket.onclose = () => {
      socket = null;
      // The run that started this viewer ended and took the viewer with it: show the final
      // picture as it stands, not a connection error.
      if (state.sawRun && state.status && !state.status.archiverRunning) {
        setConnection("ended", "run finished – final state shown");
        return;
      }
      scheduleReconnect();
    };
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
    if (running) state.sawRun = true;
    // A run seen here that ended: say when, rather than only "no run in progress".
    if (!running && state.wasRunning) state.lastRunEnd = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
    state.wasRunning = running;
    const busy = running && s.currentTask && Array.isArray(s.currentTask.workers) ? s.currentTask.workers : [];
    renderWorkers(busy);
    // With several workers their lines say it all; one partition and step would flip between them.
    $("task-partition").parentElement.hidden = busy.length > 1;
    $("task-step").parentElement.hidden = busy.length > 1;
    const badge = $("run-state");
    badge.className = "badge " + (running ? "running" : "idle");
    setText(badge, running ? "running" : "idle", hl);
    setText($("run-pid"), s.pid != null && running ? "PID " + s.pid : "", false);
    $("run-stale").hidden = !s.stalePidFile;
    const t = s.currentTask;
    $("task").hidden = !t;
    $("progress").hidden = !t;
    if (t) {
      setText($("task-table"), String(t.table || ""), hl);
      setText($("task-name"), String(t.current_task || ""), hl);
      const link = $("task-partition");
      setText(link, String(t.current_partition || "–"), hl);
      link.dataset.partition = String(t.current_partition || "");
      setText($("task-step"), String(t.current_step || "–"), hl);
      let done = 0, total = 0, unit = "";
      if (s.isSlicing && t.total_slices > 0) { done = t.slices_processed; total = t.total_slices; unit = " slices"; }
      else if (t.total_items > 0) { done = t.completed_items; total = t.total_items; }
      else if (t.total_partitions > 0) { done = t.partitions_processed; total = t.total_partitions; }
      // The slices under way count with their rows against the expected rows, so one long
      // slice moves the bar too.
      let partial = 0;
      if (unit) for (const w of Array.isArray(t.workers) ? t.workers : []) {
        const expected = Number(w.expected_rows) || 0;
        if (expected > 0) partial += Math.min(1, (Number(w.rows) || 0) / expected);
      }
      const pct = total > 0 ? Math.min(100, Math.round((done + partial) * 1000 / total) / 10) : (Number(t.progress) || 0);
      $("progress-bar").style.width = pct + "%";
      $("progress").setAttribute("aria-valuenow", String(pct));
      setText($("progress-text"), total > 0 ? count(done) + " / " + count(total) + unit + " done (" + pct + "%)" : pct + "%", hl);
      $("progress-text").title = partial > 0 ? "the percentage counts the rows of the slices under way" : "";
    } else {
      $("progress").hidden = true;
      $("progress-bar").style.width = "0%";
      $("progress").setAttribute("aria-valuenow", "0");
      setText($("progress-text"), "no run in progress" + (state.lastRunEnd ? " · the last run ended at " + state.lastRunEnd : ""), false);
    }
    tick();
  }
  // One line per busy worker: its slice, real stage, rows against the expected rows, bytes.
  function renderWorkers(list) {
    const box = $("workers");
    const items = Array.isArray(list) ? list : [];
    while (box.children.length > items.length) box.lastChild.remove();
    items.forEach((w, i) => {
      let line = box.children[i];
      if (!line) {
        line = document.createElement("div");
        line.className = "worker";
        for (const k of ["n", "slice", "stage", "rows", "bytes"]) {
          const el = document.createElement("span");
          el.className = "w-" + k;
          line.appendChild(el);
        }
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.appendChild(document.createElement("div"));
        line.querySelector(".w-rows").appendChild(bar);
        line.querySelector(".w-rows").appendChild(document.createElement("span"));
        box.appendChild(line);
      }
      const expected = Number(w.expected_rows) || 0, done = Number(w.rows) || 0;
      line.querySelector(".w-n").textContent = "worker " + (Number(w.worker) || i + 1);
      line.querySelector(".w-slice").textContent = String(w.slice || "");
      line.querySelector(".w-slice").title = String(w.slice || "");
      line.querySelector(".w-stage").textContent = String(w.stage || "");
      line.querySelector(".w-rows .bar > div").style.width = (expected > 0 ? Math.min(100, done * 100 / expected) : 0) + "%";
      line.querySelector(".w-rows > span").textContent = count(done) + (expected > 0 ? " / " + count(expected) + " rows" : " rows");
      line.querySelector(".w-bytes").textContent = bytes(Number(w.bytes) || 0);
    });
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
    if (name) {                      // not on this page: search for it on the server
      $("search").value = name;
      state.search = name;
      state.offset = 0;
      requestPage();
    }
  });

  // ---- cache table ----
  const columns = ["partition", "rowCount", "uncompressedSize", "fileSize", "ratio", "fileMD5", "age", "s3", "retired", "lastError", "errorTime"];
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
    // Retired: the mode as a badge and the time; rows and digest on hover or click.
    const mode = document.createElement("span");
    mode.className = "badge retired";
    mode.hidden = true;
    const when = document.createElement("span");
    const detail = document.createElement("div");
    detail.className = "retired-detail";
    cells.retired.append(mode, " ", when, detail);
    cells.retiredMode = mode; cells.retiredWhen = when; cells.retiredDetail = detail;
    return { tr, cells, data: null };
  }
  function fillRow(r, e, highlight) {
    const c = r.cells;
    r.tr.dataset.partition = e.partition;
    r.tr.dataset.table = e.table;
    setText(c.partition, sliceName(e), highlight);
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
    const s3text = e.s3Uploaded ? "uploaded" : (e.fileSize > 0 ? "local only" : "–");
    c.s3badge.className = "s3 " + (e.s3Uploaded ? "ok" : "none");
    setText(c.s3badge, s3text, highlight);
    const retired = isSet(e.retiredTime);
    c.retiredMode.hidden = !retired;
    setText(c.retiredMode, retired ? String(e.retireMode || "retired") : "", highlight);
    // To the minute in the cell; the tooltip has the second.
    setText(c.retiredWhen, retired ? timeText(e.retiredTime).replace(/:\d\dZ$/, "Z") : "–", highlight);
    const rowsText = count(e.retiredRows) + (Number(e.retiredRows) === 1 ? " row" : " rows");
    setText(c.retiredDetail, retired ? rowsText + " · digest " + (e.retiredDigest || "–") : "", false);
    c.retired.title = retired ? "retired " + timeText(e.retiredTime) + " (" + (e.retireMode || "") + "): " + rowsText
      + " removed from PostgreSQL, digest " + (e.retiredDigest || "–") + " (click for details)" : "not retired";
    r.tr.classList.toggle("is-retired", retired);
    setText(c.lastError, e.lastError || "", highlight);
    c.lastError.title = e.lastError || "";
    r.tr.classList.toggle("has-error", !!e.lastError);
    setText(c.errorTime, e.lastError ? timeText(e.errorTime) : "", highlight);
    r.data = e;
  }
  // ---- pages from the server ----
  function pageURL() {
    const p = new URLSearchParams({ offset: String(state.offset), limit: String(state.limit), sort: state.sortKey,
                                    order: state.sortDir > 0 ? "asc" : "desc", q: state.search, table: state.tableFilter });
    return "/api/cache?" + p.toString();
  }
  function requestPage() {
    const n = ++pageRequest;
    fetch(pageURL()).then((r) => r.json()).then((doc) => { if (n === pageRequest) applyPage(doc); }).catch(() => {});
  }
  // Deltas show at once in the rows on screen; the page is asked again (at most ~3 times a
  // second) for what moved in or out of it and for the cards.
  function scheduleRefetch() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(() => { refetchTimer = null; requestPage(); }, 300);
  }
  function applyDelta(d) {
    for (const e of (d && d.changed) || []) {
      const r = rows.get(e.file + "\u0000" + e.partition);
      if (r) fillRow(r, e, true);
    }
    scheduleRefetch();
  }
  function applyPage(doc) {
    const seen = new Set();
    const list = [];
    for (const e of doc.entries || []) {
      const id = e.file + "\u0000" + e.partition;
      seen.add(id);
      let r = rows.get(id);
      const fresh = !r;
      if (fresh) { r = makeRow(id); rows.set(id, r); }
      fillRow(r, e, !fresh);
      if (fresh && state.cacheSeen) flash(r.tr);
      list.push(r);
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
    const body = document.querySelector("#entries tbody");
    let i = 0;
    for (const r of list) {               // move only rows out of place: no flashing
      if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
      i++;
    }
    state.total = doc.total || 0;
    state.count = doc.count || 0;
    if (state.offset > 0 && state.offset >= state.total) { state.offset = Math.max(0, state.total - state.limit); requestPage(); }
    updateTableFilter(doc.tables || []);
    const first = state.total ? state.offset + 1 : 0, last = state.offset + list.length;
    setText($("shown"), state.count ? (first === 1 && last === state.total ? String(state.total) : count(first) + "–" + count(last) + " of " + count(state.total))
      + " shown" + (state.total !== state.count ? " (of " + count(state.count) + ")" : "") : "", false);
    $("page-prev").disabled = state.offset === 0;
    $("page-next").disabled = last >= state.total;
    $("empty").hidden = state.count > 0;
    updateCards(doc.stats || {});
    state.cacheSeen = true;
  }
  function updateTableFilter(tables) {
    const select = $("table-filter");
    const have = new Set(Array.from(select.options).map((o) => o.value));
    for (const t of Array.from(tables).sort()) {
      if (!have.has(t)) { const o = document.createElement("option"); o.value = t; o.textContent = t; select.appendChild(o); }
    }
  }
  function updateCards(st) {
    const processed = st.processed || 0, uploaded = st.uploaded || 0, errors = st.errors || 0, comp = st.compressed || 0;
    const uncomp = st.uncompressed || 0, rowsTotal = st.rows || 0, compWithU = st.compressedWithUncompressed || 0;
    const list = { length: st.total || 0 };
    setText($("stat-total"), count(list.length), state.cacheSeen);
    setText($("stat-processed"), count(processed), state.cacheSeen);
    setText($("stat-uploaded"), count(uploaded), state.cacheSeen);
    setText($("stat-errors"), count(errors), state.cacheSeen);
    setText($("stat-retired"), count(st.retired || 0), state.cacheSeen);
    $("stat-retired").parentElement.title = count(st.retiredRows || 0) + " rows removed from PostgreSQL";
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
      state.offset = 0;
      requestPage();
    };
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(); } });
  }
  $("table-filter").addEventListener("change", (ev) => { state.tableFilter = ev.target.value; state.offset = 0; requestPage(); });
  $("search").addEventListener("input", (ev) => {
    state.search = ev.target.value;
    state.offset = 0;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(requestPage, 150);
  });
  $("page-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); requestPage(); });
  $("page-next").addEventListener("click", () => { if (state.offset + state.limit < state.total) { state.offset += state.limit; requestPage(); } });
  // A long error stays one row high; a click shows (or hides) the whole text.
  document.querySelector("#entries tbody").addEventListener("click", (ev) => {
    const td = ev.target.closest("td.c-lastError, td.c-retired");
    if (td && td.textContent) td.classList.toggle("expanded");
  });

  setInterval(() => {
    tick();
    for (const r of rows.values()) if (r.data) setText(r.cells.age, age(entryTime(r.data)), false);
  }, 1000);

  // A first picture over REST, then live updates over the WebSocket.
  requestPage();
  fetch("/api/status").then((r) => r.json()).then((s) => { if (!state.status) applyStatus(s); }).catch(() => {});
  connect();
})();
"""#
}
