(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings tbody tr"));
  var ids = ["f-status", "f-severity", "f-policy", "f-text"];
  var count = document.getElementById("f-count");
  function apply() {
    var st = document.getElementById("f-status").value;
    var sev = document.getElementById("f-severity").value;
    var pol = document.getElementById("f-policy").value;
    var text = document.getElementById("f-text").value.toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!st || r.dataset.status === st) && (!sev || r.dataset.severity === sev) &&
        (!pol || r.dataset.policy === pol) && (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.classList.toggle("hidden", !ok);
      r.style.display = ok ? "" : "none";
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " findings";
  }
  ids.forEach(function (id) { document.getElementById(id).addEventListener("input", apply); });
  var dir = {};
  Array.prototype.forEach.call(document.querySelectorAll("#findings th[data-k]"), function (th) {
    th.addEventListener("click", function () {
      var k = th.dataset.k;
      dir[k] = -(dir[k] || -1);
      var body = document.querySelector("#findings tbody");
      rows.sort(function (a, b) {
        var x = a.dataset[k], y = b.dataset[k];
        var nx = Number(x), ny = Number(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return c * dir[k];
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
