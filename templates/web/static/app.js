/* breachledger dashboard: countdowns, live campaign progress, extra form rows.
   Everything works without this file; it only keeps pages current. */
(function () {
  "use strict";

  function two(n) { return n < 10 ? "0" + n : String(n); }

  /* Time left in words, the same format the server renders (the duration's parts joined
     by no-break spaces). */
  function leftText(seconds) {
    var whole = Math.floor(Math.abs(seconds));
    var days = Math.floor(whole / 86400);
    var rest = whole % 86400;
    var hours = Math.floor(rest / 3600);
    rest = rest % 3600;
    var minutes = Math.floor(rest / 60);
    var secs = rest % 60;
    var parts = [hours + "h", two(minutes) + "m", two(secs) + "s"];
    if (days) { parts.unshift(days + "d"); }
    var text = parts.join("\u00a0");
    return seconds < 0 ? "overdue " + text : text + " left";
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) { continue; }
      var soon = parseFloat(el.getAttribute("data-due-soon") || "86400");
      var left = (deadline - now) / 1000;
      el.textContent = leftText(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("due-soon", left >= 0 && left <= soon);
      el.classList.toggle("on-track", left > soon);
    }
  }

  var FINAL = { completed: true, cancelled: true, draft: true };

  function show(box, progress) {
    var fields = box.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].getAttribute("data-field");
      if (progress[name] !== undefined && progress[name] !== null) {
        fields[i].textContent = String(progress[name]);
      }
    }
    var bar = box.querySelector("progress");
    if (bar) {
      bar.max = Math.max(progress.total || 0, 1);
      bar.value = progress.done || 0;
    }
    box.setAttribute("data-status", progress.status || "");
    var badge = document.getElementById("campaign-status");
    if (badge && progress.status) {
      badge.textContent = progress.status;
      /* Actions rendered for another status no longer apply: hide them. */
      var actions = document.querySelectorAll("[data-when]");
      for (var j = 0; j < actions.length; j++) {
        var allowed = actions[j].getAttribute("data-when").split(" ");
        actions[j].hidden = allowed.indexOf(progress.status) < 0;
      }
    }
  }

  function poll(box) {
    var url = box.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (!progress) { return; }
        show(box, progress);
        if (!FINAL[progress.status]) { window.setTimeout(function () { poll(box); }, 1000); }
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 3000); });
  }

  function addRow(button) {
    var holder = document.getElementById(button.getAttribute("data-add-row"));
    if (!holder) { return; }
    var rows = holder.querySelectorAll(".jrow");
    if (!rows.length) { return; }
    var copy = rows[rows.length - 1].cloneNode(true);
    var inputs = copy.querySelectorAll("input");
    for (var i = 0; i < inputs.length; i++) { inputs[i].value = ""; }
    holder.insertBefore(copy, button);
    copy.querySelector("input").focus();
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
    var boxes = document.querySelectorAll("[data-progress-url]");
    for (var i = 0; i < boxes.length; i++) {
      if (!FINAL[boxes[i].getAttribute("data-status")]) { poll(boxes[i]); }
    }
    var adders = document.querySelectorAll("[data-add-row]");
    for (var j = 0; j < adders.length; j++) {
      adders[j].hidden = false;
      adders[j].addEventListener("click", function (event) { addRow(event.currentTarget); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
