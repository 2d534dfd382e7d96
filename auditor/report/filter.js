// The report's only script (allowed by its hash): decodes the embedded findings and renders the visible page of them.
// Every piece of data goes into the page through textContent or a validated URL: names are attacker-controlled text.
(function () {
  "use strict";
  var PAGE = 50;
  var GLYPH = { fail: "\u2717", error: "?", exempt: "\u2298", pass: "\u2713" };
  var LABEL = { fail: "fail", error: "could not tell", exempt: "exempt", pass: "pass" };
  var SEV = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
  var STRANK = { fail: 4, error: 3, exempt: 2, pass: 1 };
  var KEYS = ["st", "sev", "env", "pol", "rule", "acct", "reg", "drift", "q", "ep", "res", "sort", "dir", "page"];
  var IDS = { st: "f-status", sev: "f-severity", env: "f-env", pol: "f-policy", rule: "f-rule", acct: "f-account",
    reg: "f-region", drift: "f-drift", q: "f-text" };
  var D, F = [], state = {}, shown = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  // -- the data: gzip + base64 JSON (see html.embed) ---------------------------------------------------------------
  function decode() {
    var b64 = $("report-data").textContent.trim();
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function finding(row) {
    var rule = D.rules[row[0]], res = D.resources[row[2]];
    return { rule: rule, status: row[1], res: res, message: row[3], drift: row[4], advisory: row[5] === 1,
      eps: row[6], evidence: row[7], exemption: row[8], outcome: row[9], guidance: row[10] === null ? rule[5] : row[10],
      sev: SEV[rule[2]], env: res[5] || "none", hay: null };
  }

  // -- console links: region-aware, only for a well-formed region, names always URL-encoded ---------------------------
  function consoleUrl(type, arn, name, region) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) { return null; }
    var e = encodeURIComponent, host = region.indexOf("cn-") === 0 ? "console.amazonaws.cn" :
      region.indexOf("us-gov-") === 0 ? "console.amazonaws-us-gov.com" : region + ".console.aws.amazon.com";
    var base = "https://" + host + "/", sm = base + "sagemaker/home?region=" + region + "#/";
    var tail = arn.split(":").slice(5).join(":"), seg = tail.split("/");
    switch (type) {
      case "sagemaker.endpoint": return sm + "endpoints/" + e(name);
      case "sagemaker.variant": return sm + "endpoints/" + e(seg[1] || name);
      case "sagemaker.endpoint_config": return sm + "endpointConfig/" + e(name);
      case "sagemaker.model": case "sagemaker.container": return sm + "models/" + e(seg[1] || name);
      case "sagemaker.monitoring_schedule": return sm + "monitoring-schedules/" + e(name);
      case "s3.bucket": return base + "s3/buckets/" + e(name) + "?region=" + region;
      case "s3.object": return base + "s3/object/" + e(tail.split("/")[0]) + "?region=" + region + "&prefix=" +
        e(tail.split("/").slice(1).join("/"));
      case "kms.key": return base + "kms/home?region=" + region + "#/kms/keys/" + e(seg[1] || name);
      case "iam.role": return base + "iam/home#/roles/details/" + e(name);
      case "cloudwatch.alarm": return base + "cloudwatch/home?region=" + region + "#alarmsV2:alarm/" + e(name);
      case "aws.region": case "cloudtrail.trail": return base + "cloudtrail/home?region=" + region + "#/trails";
      default: return null;
    }
  }

  // -- filter state <-> URL fragment ------------------------------------------------------------------------------
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, "")), s = {};
    KEYS.forEach(function (k) { s[k] = p.get(k) || ""; });
    return s;
  }
  function empty() { var s = {}; KEYS.forEach(function (k) { s[k] = ""; }); return s; }
  function writeHash() {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) { if (state[k]) { p.set(k, state[k]); } });
    history.replaceState(null, "", "#" + p.toString());
  }
  function toControls() { Object.keys(IDS).forEach(function (k) { $(IDS[k]).value = state[k]; }); sortMarks(); }

  function matches(f) {
    var s = state, st = s.st;
    if (st === "all") { /* everything */ } else if (st === "advisory") { if (!f.advisory) { return false; } }
    else if (st) { if (f.status !== st || (f.advisory && st === "fail")) { return false; } }
    else if (f.advisory || (f.status !== "fail" && f.status !== "error")) { return false; }
    if (s.sev && f.rule[2] !== s.sev) { return false; }
    if (s.env && f.env !== s.env) { return false; }
    if (s.pol && String(f.rule[3]) !== s.pol) { return false; }
    if (s.rule && f.rule[0] !== s.rule) { return false; }
    if (s.acct && f.res[3] !== s.acct) { return false; }
    if (s.reg && f.res[4] !== s.reg) { return false; }
    if (s.drift && f.drift !== s.drift) { return false; }
    if (s.res && f.res[0] !== s.res) { return false; }
    if (s.ep) {
      var ok = false;
      for (var i = 0; i < f.eps.length; i++) { if (D.resources[f.eps[i]][0] === s.ep) { ok = true; break; } }
      if (!ok) { return false; }
    }
    if (s.q) {
      if (f.hay === null) {
        f.hay = [f.res[0], f.res[2], f.res[1], f.rule[0], f.rule[1], f.message, f.rule[6]].join("\n").toLowerCase();
      }
      if (f.hay.indexOf(s.q.toLowerCase()) < 0) { return false; }
    }
    return true;
  }

  var SORTS = {
    status: function (f) { return STRANK[f.status]; }, severity: function (f) { return f.sev; },
    env: function (f) { return f.env === "production" ? 2 : f.env === "none" ? 0 : 1; },
    policy: function (f) { return f.rule[3]; }, rule: function (f) { return f.rule[0]; },
    resource: function (f) { return f.res[2]; }
  };
  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  // default triage order: most severe first, production first, fail before could-not-tell, then policy and name
  function triage(a, b) {
    return (b.sev - a.sev) || (SORTS.env(b) - SORTS.env(a)) || (STRANK[b.status] - STRANK[a.status]) ||
      (a.rule[3] - b.rule[3]) || cmp(a.rule[0], b.rule[0]) || cmp(a.res[2], b.res[2]);
  }
  function sortMarks() {
    Array.prototype.forEach.call(document.querySelectorAll("#findings th[data-k]"), function (th) {
      th.setAttribute("aria-sort", th.dataset.k === state.sort ? (state.dir === "asc" ? "ascending" : "descending") : "none");
    });
  }

  function apply(keepPage) {
    if (!keepPage) { state.page = ""; }
    shown = F.filter(matches);
    if (state.sort && SORTS[state.sort]) {
      var key = SORTS[state.sort], sign = state.dir === "asc" ? 1 : -1;
      shown.sort(function (a, b) { return sign * cmp(key(a), key(b)) || triage(a, b); });
    } else {
      shown.sort(triage);
    }
    writeHash();
    sortMarks();
    var mkey = [state.acct, state.reg, state.env].join("\n");
    if (mkey !== drawnMatrix) { drawnMatrix = mkey; drawMatrix(); }  // the matrix follows only these filters
    draw();
  }

  function statusCell(f) {
    var td = el("td", "c-" + f.status, GLYPH[f.status] + " " + (f.advisory ? "advisory " : "") + LABEL[f.status]);
    if (f.drift) { td.appendChild(el("div", "muted", f.drift)); }
    return td;
  }

  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    var page = Math.min(Math.max(1, parseInt(state.page, 10) || 1), pages);
    var body = document.createElement("tbody");
    shown.slice((page - 1) * PAGE, page * PAGE).forEach(function (f) {
      var tr = el("tr");
      tr.appendChild(statusCell(f));
      tr.appendChild(el("td", "sev-" + f.rule[2], f.rule[2]));
      tr.appendChild(el("td", "", f.env === "none" ? "account" : f.env === "production" ? "PROD" : "non-prod"));
      tr.appendChild(el("td", "", f.rule[3]));
      tr.appendChild(el("td", "", f.rule[0]));
      var res = el("td", "wrap", f.res[2]);
      res.appendChild(el("br"));
      res.appendChild(el("span", "muted", f.res[1] + " \u00b7 " + f.res[3] + " \u00b7 " + f.res[4] + " "));
      var url = consoleUrl(f.res[1], f.res[0], f.res[2], f.res[4]);
      if (url) {
        var a = el("a", "", "console \u2197");
        a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
        res.appendChild(a);
      }
      tr.appendChild(res);
      tr.appendChild(detail(f, false));
      body.appendChild(tr);
    });
    var old = document.querySelector("#findings tbody");
    old.parentNode.replaceChild(body, old);
    var passes = F.reduce(function (n, f) { return n + (f.status === "pass" ? 1 : 0); }, 0);
    $("f-count").textContent = shown.length + " of " + F.length + " findings";
    var advisory = F.reduce(function (n, f) { return n + (f.advisory && f.status === "fail" ? 1 : 0); }, 0);
    $("f-scope").textContent = state.st ? "" : "(violations and could-not-tell; " + passes + " passing hidden" +
      (advisory ? "; " + advisory + " advisory shown apart: status \u201cadvisory\u201d" : "") + ")";
    $("f-passes").hidden = !!state.st;
    $("p-info").textContent = "page " + page + " of " + pages;
    $("p-prev").disabled = page <= 1;
    $("p-next").disabled = page >= pages;
  }

  // evidence as one line per check (what was read, what was expected), then anything else as compact JSON
  var CHECK_KEYS = { resource: 1, check: 1, op: 1, expected: 1, actual: 1, result: 1 };
  function evidenceText(e) {
    var lines = ["basis: " + e.basis];
    (e.checks || []).forEach(function (c) {
      if (c && c.check !== undefined) {
        lines.push((c.result === true ? "\u2713 " : c.result === false ? "\u2717 " : "? ") + (c.resource || "") + ": " +
          c.check + (c.op ? " " + c.op + " " + JSON.stringify(c.expected) : "") +
          ("actual" in c ? " \u2014 actual " + JSON.stringify(c.actual) : "") +
          Object.keys(c).filter(function (k) { return !CHECK_KEYS[k]; }).map(function (k) {
            return "; " + k + " " + JSON.stringify(c[k]);
          }).join(""));
      } else { lines.push(JSON.stringify(c)); }
    });
    (e.unknown || []).forEach(function (u) { lines.push("? could not read: " + u); });
    Object.keys(e).forEach(function (k) {
      if (k !== "basis" && k !== "checks" && k !== "unknown") { lines.push(k + ": " + JSON.stringify(e[k])); }
    });
    return lines.join("\n");
  }

  // message, exemption, remediation and references; the evidence is rendered only when asked for
  function detail(f, expanded) {
    var td = el("td", "wrap", f.message);
    if (f.exemption) { td.appendChild(el("div", "c-exempt", "Exempt (" + f.exemption + ")")); }
    if (f.status !== "pass") {
      var rem = el("div", "muted", "Remediation: " + (f.rule[4] ? f.rule[4] + " (automatic) \u2014 " : "") + f.guidance +
        (f.outcome ? " \u00b7 outcome: " + f.outcome : ""));
      td.appendChild(rem);
    }
    if (f.rule[6]) { td.appendChild(el("div", "refs", f.rule[6])); }
    var ev = evidenceText(f.evidence);
    if (expanded) { td.appendChild(el("pre", "ev", ev)); return td; }
    var b = el("button", "ev", "Evidence (" + (f.evidence.basis || "?") + ")");
    b.type = "button";
    b.addEventListener("click", function () { b.replaceWith(el("pre", "ev", ev)); });
    td.appendChild(b);
    return td;
  }

  // -- the endpoint matrix, account-level rows and shared resources: pages of rows, all of them when printing -------
  var CELL = { f: "fail", e: "error", x: "exempt", p: "pass" };
  var MPAGE = 100, pages = {}, printing = false, drawnMatrix = null;

  function matrixRows(groups) {
    var out = [];
    groups.forEach(function (g) {
      if ((state.acct && g[0] !== state.acct) || (state.reg && g[1] !== state.reg)) { return; }
      g[2].forEach(function (r) { if (!state.env || (r[1] || "none") === state.env) { out.push({ g: g, r: r }); } });
    });
    return out;
  }
  function pager(id, page, np, total, go) {
    var box = $(id);
    if (!box) { return; }
    box.textContent = "";
    if (np <= 1) { return; }
    var prev = el("button", "", "\u2039 Previous"), next = el("button", "", "Next \u203a");
    prev.type = "button"; next.type = "button"; prev.disabled = page <= 1; next.disabled = page >= np;
    prev.addEventListener("click", function () { go(page - 1); });
    next.addEventListener("click", function () { go(page + 1); });
    box.appendChild(prev);
    box.appendChild(document.createTextNode(" page " + page + " of " + np + " (" + total + " rows) "));
    box.appendChild(next);
  }
  function drawTable(id, rows, make) {
    var t = $(id);
    if (!t) { return; }
    var size = printing ? Math.max(1, rows.length) : MPAGE, np = Math.max(1, Math.ceil(rows.length / size));
    var page = Math.min(pages[id] || 1, np), body = document.createElement("tbody"), last = null;
    rows.slice((page - 1) * size, page * size).forEach(function (x) {
      if (x.g && x.g !== last) {
        last = x.g;
        var tr = el("tr", "grp"), th = el("th", "", "Account " + x.g[0] + " \u00b7 " + x.g[1] + " \u00b7 " + x.g[2].length);
        th.colSpan = t.tHead.rows[0].cells.length;
        tr.appendChild(th);
        body.appendChild(tr);
      }
      body.appendChild(make(x));
    });
    t.replaceChild(body, t.tBodies[0]);
    pager(id + "-pager", page, np, rows.length, function (p) { pages[id] = p; drawMatrix(); });
  }
  function matrixRow(x, isEp) {
    var res = D.resources[x.r[0]], tr = el("tr"), td = el("td", "res", res[2]);
    tr.dataset[isEp ? "ep" : "res"] = res[0];
    td.title = res[0];
    if (x.r[1] === "production") { td.appendChild(el("span", "env", "PROD")); }
    if (!isEp) { td.appendChild(el("span", "muted", " " + res[1])); }
    tr.appendChild(td);
    x.r[2].forEach(function (c) {
      var st = c ? CELL[c[0]] : "none", cell = el("td", "c c-" + st, c ? GLYPH[st] + c.slice(1) : "\u00b7");
      cell.title = c ? LABEL[st] + ": " + c.slice(1) + " finding(s)" : "not applicable";
      tr.appendChild(cell);
    });
    return tr;
  }
  function sharedRow(x) {
    var res = D.resources[x[0]], tr = el("tr"), td = el("td", "res", res[2]);
    tr.dataset.res = res[0];
    td.title = res[0];
    td.appendChild(el("span", "muted", " " + res[1] + " \u00b7 " + res[3] + " \u00b7 " + res[4]));
    tr.appendChild(td);
    tr.appendChild(el("td", "c-" + x[1], GLYPH[x[1]] + " " + LABEL[x[1]]));
    tr.appendChild(el("td", "num", x[2].length));
    var names = x[2].slice(0, 12).map(function (i) { return D.resources[i][2]; }).join(", ");
    tr.appendChild(el("td", "wrap", names + (x[2].length > 12 ? " and " + (x[2].length - 12) + " more" : "")));
    return tr;
  }
  function drawMatrix() {
    var M = D.matrix;
    drawTable("matrix", matrixRows(M.endpoints), function (x) { return matrixRow(x, true); });
    drawTable("account-level", matrixRows(M.account_level), function (x) { return matrixRow(x, false); });
    drawTable("shared", M.shared.filter(function (x) {
      var r = D.resources[x[0]];
      return (!state.acct || r[3] === state.acct) && (!state.reg || r[4] === state.reg);
    }), sharedRow);
  }

  // -- export this view: the filtered, sorted rows; spreadsheet formulas defused ------------------------------------
  function csvCell(v) {
    var s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) { s = "'" + s; }
    return '"' + s.replace(/"/g, '""') + '"';
  }
  function exportCsv() {
    var head = ["rule_id", "policy", "severity", "status", "advisory", "environment", "drift", "resource_arn",
      "resource_type", "resource_name", "account", "region", "message", "remediator", "guidance", "references"];
    var lines = [head.join(",")];
    shown.forEach(function (f) {
      lines.push([f.rule[0], f.rule[3], f.rule[2], f.status, f.advisory ? "yes" : "", f.env === "none" ? "" : f.env,
        f.drift, f.res[0], f.res[1], f.res[2], f.res[3], f.res[4], f.message, f.rule[4], f.guidance, f.rule[6]]
        .map(csvCell).join(","));
    });
    var a = el("a");
    a.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
    a.download = "findings-view.csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);  // after the download has surely started
  }

  // -- print: every violation with evidence and remediation -----------------------------------------------------------
  var printed = false;
  function printViolations() {
    if (printed || !D) { return; }
    printed = true;
    var box = $("print-violations");
    box.appendChild(el("h3", "", "Violations and findings that could not be decided"));
    F.filter(function (f) { return !f.advisory && (f.status === "fail" || f.status === "error"); }).sort(triage)
      .forEach(function (f) {
        var d = el("div", "pv");
        d.appendChild(el("div", "pvh", GLYPH[f.status] + " " + LABEL[f.status] + " \u00b7 " + f.rule[2] + " \u00b7 " +
          f.rule[0] + " \u00b7 " + f.res[2] + " (" + f.res[1] + ", " + f.res[3] + ", " + f.res[4] + ")"));
        var td = detail(f, true);
        while (td.firstChild) { d.appendChild(td.firstChild); }
        box.appendChild(d);
      });
  }

  function options(id, values) {
    var sel = $(id);
    values.forEach(function (v) { var o = el("option", "", v[1]); o.value = v[0]; sel.appendChild(o); });
  }
  function uniq(list) { return Array.from(new Set(list)).sort(); }

  function bind() {
    Object.keys(IDS).forEach(function (k) {
      $(IDS[k]).addEventListener(k === "q" ? "input" : "change", function () { state[k] = $(IDS[k]).value; apply(false); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("#findings th[data-k]"), function (th) {
      th.addEventListener("click", function () {
        var k = th.dataset.k;
        state.dir = state.sort === k ? (state.dir === "asc" ? "desc" : "asc") : (k === "severity" || k === "status" ? "desc" : "asc");
        state.sort = k;
        apply(false);
      });
    });
    $("p-prev").addEventListener("click", function () { state.page = String((parseInt(state.page, 10) || 1) - 1); apply(true); });
    $("p-next").addEventListener("click", function () { state.page = String((parseInt(state.page, 10) || 1) + 1); apply(true); });
    $("f-reset").addEventListener("click", function () { state = empty(); toControls(); apply(false); });
    $("f-passes").addEventListener("click", function () { state.st = "all"; toControls(); apply(false); });
    $("f-export").addEventListener("click", exportCsv);
    // a matrix row (or one of its cells) opens that endpoint's (or resource's) findings, all statuses
    ["matrix", "account-level", "shared"].forEach(function (id) {
      var t = $(id);
      if (!t) { return; }
      t.addEventListener("click", function (ev) {
        var tr = ev.target.closest("tr[data-ep], tr[data-res]");
        if (!tr) { return; }
        var td = ev.target.closest("td"), heads = t.querySelectorAll("thead th");
        state = empty();
        state.st = "all";
        if (tr.dataset.ep) { state.ep = tr.dataset.ep; } else { state.res = tr.dataset.res; }
        if (td && td.classList.contains("c") && id !== "shared") { state.pol = heads[td.cellIndex].textContent; }
        toControls();
        apply(false);
        $("findings-section").scrollIntoView();
      });
    });
    window.addEventListener("hashchange", function () { state = readHash(); toControls(); apply(true); });
    window.addEventListener("beforeprint", function () { printing = true; drawMatrix(); printViolations(); });
    window.addEventListener("afterprint", function () { printing = false; drawMatrix(); });
  }

  decode().then(function (data) {
    D = data;
    F = D.findings.map(finding);
    options("f-rule", uniq(D.rules.map(function (r) { return r[0]; })).map(function (r) { return [r, r]; }));
    options("f-account", uniq(D.resources.map(function (r) { return r[3]; })).map(function (a) { return [a, a]; }));
    options("f-region", uniq(D.resources.map(function (r) { return r[4]; })).map(function (a) { return [a, a]; }));
    state = readHash();
    toControls();
    bind();
    apply(true);
    if ($("print-violations").dataset.eager === "1") { printViolations(); }
    document.body.dataset.ready = "1";
  }, function (err) {
    $("f-count").textContent = "The findings could not be decoded in this browser (" + err + "); they are in report.json.";
  });
})();
