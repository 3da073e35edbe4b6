// Keyboard triage on the review queue: j/k move, c/d confirm or dismiss the selected hit, Enter opens it.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) { return; }
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  function rows() { return Array.prototype.slice.call(table.querySelectorAll("tr.hit")); }
  function selected() { return table.querySelector("tr.hit.selected"); }
  function select(row) {
    var current = selected();
    if (current) { current.classList.remove("selected"); }
    if (row) { row.classList.add("selected"); row.scrollIntoView({block: "nearest"}); }
  }
  function move(step) {
    var all = rows(), index = all.indexOf(selected());
    var next = all[Math.min(all.length - 1, Math.max(0, index + step))];
    select(next);
  }
  function flash(text) { document.getElementById("flash").textContent = text; }
  function decide(verdict) {
    var row = selected();
    if (!row) { return; }
    var body = new URLSearchParams();
    body.set("url", row.getAttribute("data-url"));
    body.set("verdict", verdict);
    body.set("note", document.getElementById("note").value);
    body.set("csrf", token);
    fetch("/triage", {method: "POST", body: body, credentials: "same-origin",
                      headers: {"Accept": "application/json", "X-CSRF-Token": token}})
      .then(function (response) {
        if (!response.ok) { return response.text().then(function (t) { throw new Error(t); }); }
        var all = rows(), index = all.indexOf(row);
        var next = all[index + 1] || all[index - 1];
        row.parentNode.removeChild(row);
        select(next);
        var count = document.getElementById("queue-count");
        var left = Math.max(0, parseInt(count.getAttribute("data-count"), 10) - 1);
        count.setAttribute("data-count", String(left));
        count.textContent = String(left);
        document.getElementById("note").value = "";
        flash(verdict + ": " + body.get("url"));
      })
      .catch(function (error) { flash("refused: " + error.message); });
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { move(1); }
    else if (event.key === "k") { move(-1); }
    else if (event.key === "c") { decide("confirmed"); }
    else if (event.key === "d") { decide("dismissed"); }
    else if (event.key === "Enter" && selected()) { window.location = "/hit/" + selected().getAttribute("data-id"); }
    else { return; }
    event.preventDefault();
  });
}());
