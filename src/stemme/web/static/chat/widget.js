/* stemme web chat for police web pages. Embed with one tag:

     <script src="https://stemme.example/chat/widget.js" data-district="Oslo" data-lang="nb" async></script>

   Adds a "Chat med politiet" button; the chat itself opens in an iframe of /chat?embed=1 (the
   stemme site must list this page's origin in STEMME_WEBCHAT_EMBED_ORIGINS). Nothing is loaded
   from stemme and nothing is stored until the button is pressed; the chat sets no cookies.
   Styles are set from script (CSSOM), so a strict style-src on the host page is no obstacle. */
(function () {
  "use strict";

  var TEXTS = __STEMME_CHAT_TEXTS__;
  var script = document.currentScript;
  if (!script || window.__stemmeChatWidget) {
    return;
  }
  window.__stemmeChatWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var wanted = (script.getAttribute("data-lang") || document.documentElement.lang || "nb").toLowerCase();
  var lang = TEXTS[wanted] ? wanted : TEXTS[wanted.slice(0, 2)] ? wanted.slice(0, 2) : "nb";
  var t = TEXTS[lang];
  var district = script.getAttribute("data-district") || "";
  var query = "embed=1&lang=" + encodeURIComponent(lang);
  if (district) {
    query += "&district=" + encodeURIComponent(district);
  }
  var PANEL_ID = "stemme-chat-panel";
  var COLOR = "#1f3a68";

  function styles(element, values) {
    for (var key in values) {
      if (Object.prototype.hasOwnProperty.call(values, key)) {
        element.style.setProperty(key, values[key]);
      }
    }
  }

  function init() {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "stemme-chat-launcher";
    button.textContent = t.open;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", PANEL_ID);
    styles(button, {
      position: "fixed",
      right: "16px",
      bottom: "16px",
      "z-index": "2147483000",
      "min-height": "48px",
      "min-width": "48px",
      padding: "12px 20px",
      border: "2px solid #ffffff",
      "border-radius": "999px",
      background: COLOR,
      color: "#ffffff",
      font: "600 16px/1.25 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
      "box-shadow": "0 2px 8px rgba(0, 0, 0, 0.35)",
      cursor: "pointer"
    });
    button.addEventListener("focus", function () {
      styles(button, { outline: "3px solid #0b0b0b", "outline-offset": "2px" });
    });
    button.addEventListener("blur", function () {
      button.style.removeProperty("outline");
    });

    var panel = document.createElement("div");
    panel.id = PANEL_ID;
    panel.hidden = true;
    styles(panel, {
      position: "fixed",
      "z-index": "2147483001",
      background: "#ffffff",
      "box-shadow": "0 4px 24px rgba(0, 0, 0, 0.35)",
      overflow: "hidden"
    });
    var frame = null;
    var small = window.matchMedia("(max-width: 480px), (max-height: 560px)");

    function layout() {
      if (small.matches) {
        styles(panel, { top: "0", left: "0", right: "0", bottom: "0", width: "100%", height: "100%", "border-radius": "0" });
      } else {
        styles(panel, {
          top: "auto",
          left: "auto",
          right: "16px",
          bottom: "80px",
          width: "400px",
          height: "min(640px, calc(100vh - 100px))",
          "border-radius": "12px"
        });
      }
      panel.style.display = panel.hidden ? "none" : "block";
      // full screen: the chat has its own close button, the launcher would cover it
      button.style.display = !panel.hidden && small.matches ? "none" : "block";
    }

    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.src = origin + "/chat?" + query;
        frame.title = t.frame;
        frame.setAttribute("lang", lang);
        styles(frame, { border: "0", width: "100%", height: "100%", display: "block" });
        panel.appendChild(frame);
      }
      panel.hidden = false;
      button.setAttribute("aria-expanded", "true");
      button.textContent = t.close;
      layout();
      frame.focus();
    }

    function close() {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.textContent = t.open;
      layout();
      button.focus();
    }

    button.addEventListener("click", function () {
      if (panel.hidden) {
        open();
      } else {
        close();
      }
    });
    window.addEventListener("message", function (event) {
      if (event.origin === origin && event.data && event.data.type === "stemme-chat:close") {
        close();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) {
        close();
      }
    });
    if (small.addEventListener) {
      small.addEventListener("change", layout);
    }
    document.body.appendChild(panel);
    document.body.appendChild(button);
    layout();
  }

  if (document.body) {
    init();
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
