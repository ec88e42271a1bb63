// Keyboard shortcuts of the operator inbox, and keeping focus across live updates.
// No inline handlers (the CSP forbids them): everything is wired here.
(function () {
  "use strict";
  var pending = null;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function queueLinks() {
    return Array.prototype.slice.call(document.querySelectorAll(".queue-link"));
  }

  function move(step) {
    var links = queueLinks();
    if (!links.length) { return; }
    var index = links.indexOf(document.activeElement);
    var next = index < 0 ? 0 : Math.min(Math.max(index + step, 0), links.length - 1);
    links[next].focus();
  }

  function focusById(id) {
    var element = document.getElementById(id);
    if (element) { element.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    if (pending === "g" && key === "i") { pending = null; window.location.href = "/inbox"; return; }
    pending = null;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "/") { focusById("f-status"); }
    else if (key === "r") { focusById("reply-text"); }
    else if (key === "n") { focusById("note-text"); }
    else if (key === "g") { pending = "g"; return; }
    else if (key === "?") {
      var help = document.getElementById("shortcut-help");
      if (help && help.showModal) { help.showModal(); }
    } else { return; }
    event.preventDefault();
  });

  // A live update replaces the queue table: put the focus back on the same conversation.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (focusedId && document.activeElement === document.body) { focusById(focusedId); }
  });
})();
