//! The page's inline style sheet and the script that sorts the node table by a clicked
//! heading: both go into the page as they are (no external files).

/// The style sheet.
pub(crate) const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d2330;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px 20px 40px}
h1{font-size:24px;margin:4px 0 2px}
h2{font-size:19px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #d8dbe2}
.sub{color:#5a6272;margin:0 0 14px}
.verdict{padding:12px 16px;border-radius:6px;font-weight:700;font-size:18px;color:#fff;margin:10px 0}
.verdict.met{background:#1e7d32}.verdict.missed{background:#c62828}.verdict.none{background:#6b7280}.verdict.distorted{background:#b45309}
table{border-collapse:collapse;background:#fff;margin:6px 0 10px}
th,td{padding:5px 10px;border:1px solid #dfe2e8;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:13px;color:#fff}
.badge.met{background:#1e7d32}.badge.missed{background:#c62828}.badge.none{background:#6b7280}
.notes{background:#fff8e1;border:1px solid #f0d47a;border-radius:6px;padding:8px 14px 8px 30px;margin:10px 0}
.meta th{width:210px}
.meta td{max-width:960px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}
.card{background:#fff;border:1px solid #dfe2e8;border-radius:6px;padding:8px 14px;min-width:130px}
.card .k{color:#5a6272;font-size:13px}.card .v{font-size:20px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(2,590px);gap:20px}
figure{margin:0;background:#fff;border:1px solid #dfe2e8;border-radius:6px;padding:4px}
figure svg{display:block;max-width:100%;height:auto}
figcaption{color:#5a6272;font-size:13px;padding:4px 8px 6px}
.missing{padding:40px 20px;color:#5a6272;text-align:center}
td.bad{background:#fbd5d5}td.warn{background:#fff1c7}
table.sortable th{cursor:pointer;user-select:none}
table.nodes th,table.nodes td,table.cov td,table.cov th{white-space:nowrap}
table.nodes th,table.nodes td{padding:4px 8px;font-size:14px}
table.sortable th:hover{background:#e2e6ee}
.scroll{max-height:720px;max-width:100%;width:fit-content;overflow:auto;border:1px solid #dfe2e8}
.scroll table{margin:0}
.scroll th{position:sticky;top:0}
footer{color:#8a909c;font-size:12px;margin-top:30px}
"#;

/// Sorts a `table.sortable` by the clicked heading, by each cell's `data-v` value.
pub(crate) const SORT_SCRIPT: &str = r#"
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], i = th.cellIndex;
    var asc = th.dataset.dir !== 'asc';
    th.dataset.dir = asc ? 'asc' : 'desc';
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[i].dataset.v, y = b.cells[i].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? r : -r;
    }).forEach(function (r) { body.appendChild(r); });
  });
});
"#;
