/* The citizen web chat on /chat. The chat's token lives in localStorage (never a cookie) and
   goes to /chat/api as "Authorization: Bearer"; new messages arrive as server-sent events read
   with fetch (EventSource cannot send that header). Texts come from the page (#chat-texts). */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  var textsElement = document.getElementById("chat-texts");
  if (!root || !textsElement) {
    return;
  }
  var T = JSON.parse(textsElement.textContent);
  var lang = root.getAttribute("data-lang") || "nb";
  var district = root.getAttribute("data-district") || null;
  var embedded = root.getAttribute("data-embed") === "1";
  var TOKEN_KEY = "stemme-chat";
  var OUTBOX_KEY = "stemme-chat-outbox";

  function el(id) {
    return document.getElementById(id);
  }

  var form = el("chat-form");
  var textBox = el("chat-text");
  var errorBox = el("chat-error");
  var log = el("chat-log");
  var scroller = el("chat-scroll");
  var notice = el("chat-notice");
  var endButton = el("chat-end");
  var confirmBox = el("chat-confirm");
  var feedbackBox = el("chat-feedback");
  var feedbackForm = el("chat-feedback-form");
  var feedbackError = el("chat-feedback-error");
  var feedbackDone = el("chat-feedback-done");

  var token = null;
  var lastId = 0;
  var shown = {};
  var feedbackFor = null;
  var stream = null;
  var streamTimer = null;
  var backoff = 1000;

  // --- storage (localStorage may be blocked: then the chat lasts as long as the page) ---

  function load(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function save(key, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(key);
      } else {
        window.localStorage.setItem(key, JSON.stringify(value));
      }
    } catch (e) {
      /* storage unavailable */
    }
  }

  function outbox() {
    var items = load(OUTBOX_KEY);
    return Array.isArray(items) ? items : [];
  }

  function dropFromOutbox(clientId) {
    save(OUTBOX_KEY, outbox().filter(function (item) { return item.client_id !== clientId; }));
  }

  var stored = load(TOKEN_KEY);
  if (stored && typeof stored.token === "string") {
    token = stored.token;
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- the API ---------------------------------------------------------------------------

  function api(method, path, body) {
    var headers = { "Accept": "application/json", "Accept-Language": lang };
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    var options = { method: method, headers: headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var parsed = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
      return parsed.then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function detail(result) {
    return (result && result.data && result.data.detail) || T.failed;
  }

  var starting = null;

  function ensureSession() {
    if (token) {
      return Promise.resolve(token);
    }
    if (!starting) {
      starting = api("POST", "/chat/api/sessions", { lang: lang, district: district }).then(
        function (r) {
          starting = null;
          if (r.status !== 201) {
            throw r;
          }
          token = r.data.token;
          save(TOKEN_KEY, { token: token });
          endButton.hidden = false;
          return token;
        },
        function (error) {
          starting = null;
          throw error;
        }
      );
    }
    return starting;
  }

  function forgetToken() {
    token = null;
    save(TOKEN_KEY, null);
    stopStream();
    endButton.hidden = true;
    confirmBox.hidden = true;
    feedbackBox.hidden = true;
    feedbackFor = null;
  }

  // --- showing messages ------------------------------------------------------------------

  function say(text) {
    notice.textContent = text || "";
  }

  function showError(text) {
    errorBox.textContent = text;
    textBox.setAttribute("aria-invalid", "true");
  }

  function clearError() {
    errorBox.textContent = "";
    textBox.removeAttribute("aria-invalid");
  }

  function formatTime(iso) {
    var locale = { nb: "nb-NO", nn: "nn-NO", en: "en-GB" }[lang] || "nb-NO";
    try {
      return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
    } catch (e) {
      return "";
    }
  }

  function speaker(direction, kind) {
    if (direction === "in") {
      return T.you;
    }
    return kind === "emergency" || kind === "out_of_hours" ? T.automatic : T.police;
  }

  function bubble(direction, kind, text, when) {
    var item = document.createElement("div");
    item.className = "chat-msg chat-msg--" + (direction === "in" ? "in" : "out");
    var meta = document.createElement("p");
    meta.className = "chat-msg__meta";
    var who = document.createElement("span");
    who.className = "chat-msg__who";
    who.textContent = speaker(direction, kind);
    meta.appendChild(who);
    var time = document.createElement("time");
    time.dateTime = when;
    time.textContent = formatTime(when);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    var body = document.createElement("p");
    body.className = "chat-msg__text";
    body.textContent = text;
    var status = document.createElement("p");
    status.className = "chat-msg__status";
    item.appendChild(meta);
    item.appendChild(body);
    item.appendChild(status);
    return item;
  }

  function setStatus(item, text) {
    item.querySelector(".chat-msg__status").textContent = text;
  }

  function scrollDown() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function placeById(item, id) {
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var other = children[i].getAttribute("data-id");
      if (other === null || Number(other) > id) {
        log.insertBefore(item, children[i]);
        return;
      }
    }
    log.appendChild(item);
  }

  function render(message) {
    if (message.id > lastId) {
      lastId = message.id;
    }
    if (shown[message.id]) {
      return;
    }
    var item = bubble(
      message.direction,
      message.kind,
      message.text === null ? T.deleted : message.text,
      message.created_at
    );
    item.setAttribute("data-id", String(message.id));
    shown[message.id] = item;
    placeById(item, message.id);
    scrollDown();
    if (message.kind === "feedback_question") {
      say(T.closed);
      if (message.feedback === "open") {
        showFeedback(message.id);
        // the question on top, the rating form below it
        scroller.scrollTop = Math.max(0, item.offsetTop - scroller.offsetTop - 8);
      }
    }
  }

  // --- sending ---------------------------------------------------------------------------

  function post(item, retried) {
    return ensureSession()
      .then(function () { return api("POST", "/chat/api/messages", item); })
      .then(function (r) {
        if (r.status === 401 && !retried) {
          forgetToken();
          return post(item, true);
        }
        return r;
      });
  }

  function failed(item, message, text) {
    item.classList.add("chat-msg--failed");
    setStatus(item, T.not_sent + " ");
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "ds-button";
    retry.setAttribute("data-variant", "tertiary");
    retry.setAttribute("data-size", "sm");
    retry.textContent = T.retry;
    retry.addEventListener("click", function () {
      deliver(message, item);
      textBox.focus();
    });
    item.querySelector(".chat-msg__status").appendChild(retry);
    showError(text);
  }

  function deliver(message, item) {
    item.classList.remove("chat-msg--failed");
    setStatus(item, T.sending);
    post(message, false).then(
      function (r) {
        if (r.status === 200 || r.status === 201) {
          dropFromOutbox(message.client_id);
          var stored = r.data.message;
          if (shown[stored.id]) {
            item.remove();
          } else {
            item.setAttribute("data-id", String(stored.id));
            shown[stored.id] = item;
            setStatus(item, "");
          }
          startStream();
          return;
        }
        if (r.status >= 400 && r.status < 500 && r.status !== 429 && r.status !== 408) {
          // refused for good (too long, invalid): give the text back to edit
          dropFromOutbox(message.client_id);
          item.remove();
          if (!textBox.value) {
            textBox.value = message.text;
          }
          showError(detail(r));
          textBox.focus();
          return;
        }
        failed(item, message, detail(r));
      },
      function (r) {
        failed(item, message, r && r.status ? detail(r) : T.network);
      }
    );
  }

  function send(text) {
    say("");
    var message = { client_id: newId(), text: text };
    var items = outbox();
    items.push(message);
    save(OUTBOX_KEY, items);
    var item = bubble("in", "citizen", text, new Date().toISOString());
    log.appendChild(item);
    scrollDown();
    deliver(message, item);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textBox.value.trim();
    if (!text) {
      showError(T.empty);
      textBox.focus();
      return;
    }
    clearError();
    textBox.value = "";
    send(text);
    textBox.focus();
  });

  textBox.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  // --- live updates: server-sent events over fetch ------------------------------------------

  function stopStream() {
    if (streamTimer) {
      clearTimeout(streamTimer);
      streamTimer = null;
    }
    if (stream) {
      stream.abort();
      stream = null;
    }
  }

  function scheduleStream(delay) {
    if (streamTimer) {
      clearTimeout(streamTimer);
    }
    streamTimer = setTimeout(function () {
      streamTimer = null;
      startStream();
    }, delay);
  }

  function handleEvent(block) {
    var type = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) {
        type = line.slice(6).trim();
      } else if (line.indexOf("data:") === 0) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    });
    if (type === "message" && data.length) {
      try {
        render(JSON.parse(data.join("\n")));
      } catch (e) {
        /* a malformed event is skipped */
      }
      return false;
    }
    if (type === "ended") {
      forgetToken();
      say(T.expired);
      return true;
    }
    return false;
  }

  function readEvents(reader, controller) {
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done || controller.signal.aborted) {
          return "done";
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        for (var i = 0; i < blocks.length; i++) {
          if (handleEvent(blocks[i])) {
            return "stop";
          }
        }
        return pump();
      });
    }
    return pump();
  }

  function startStream() {
    if (!token || stream || streamTimer) {
      return;
    }
    var controller = new AbortController();
    stream = controller;
    var headers = { "Accept": "text/event-stream", "Accept-Language": lang, "Authorization": "Bearer " + token };
    fetch("/chat/api/stream?after=" + lastId, {
      headers: headers,
      cache: "no-store",
      credentials: "omit",
      signal: controller.signal
    })
      .then(function (response) {
        if (response.status === 401) {
          forgetToken();
          say(T.expired);
          return "stop";
        }
        if (!response.ok || !response.body) {
          throw new Error("stream " + response.status);
        }
        backoff = 1000;
        return readEvents(response.body.getReader(), controller);
      })
      .then(
        function (result) {
          if (stream === controller) {
            stream = null;
          }
          if (result !== "stop" && !controller.signal.aborted) {
            scheduleStream(500);
          }
        },
        function () {
          if (stream === controller) {
            stream = null;
          }
          if (!controller.signal.aborted) {
            scheduleStream(backoff);
            backoff = Math.min(backoff * 2, 30000);
          }
        }
      );
  }

  // --- history after a reload -----------------------------------------------------------

  function loadHistory() {
    if (!token) {
      return Promise.resolve();
    }
    return api("GET", "/chat/api/messages?after=0").then(
      function (r) {
        if (r.status === 401) {
          forgetToken();
          say(T.expired);
          return;
        }
        if (r.status !== 200) {
          say(detail(r));
          return;
        }
        r.data.messages.forEach(render);
        if (r.data.closed) {
          say(T.closed);
        }
      },
      function () {
        say(T.network);
      }
    );
  }

  function flushOutbox() {
    outbox().forEach(function (message) {
      var item = bubble("in", "citizen", message.text, new Date().toISOString());
      log.appendChild(item);
      deliver(message, item);
    });
  }

  // --- the closing question ---------------------------------------------------------------

  function showFeedback(messageId) {
    feedbackFor = messageId;
    feedbackBox.hidden = false;
    feedbackForm.hidden = false;
    feedbackDone.hidden = true;
    feedbackError.textContent = "";
  }

  feedbackForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = feedbackForm.querySelector("input[name=rating]:checked");
    var comment = el("chat-comment").value.trim();
    if (!checked && !comment) {
      feedbackError.textContent = T.choose_rating;
      el("chat-rating-1").focus();
      return;
    }
    feedbackError.textContent = "";
    var body = {
      message_id: feedbackFor,
      rating: checked ? Number(checked.value) : null,
      comment: comment || null
    };
    api("POST", "/chat/api/feedback", body).then(
      function (r) {
        if (r.status === 201 || r.status === 409) {
          feedbackForm.hidden = true;
          feedbackDone.textContent = T.thanks;
          feedbackDone.hidden = false;
          feedbackDone.focus();
          feedbackFor = null;
          return;
        }
        feedbackError.textContent = detail(r);
      },
      function () {
        feedbackError.textContent = T.network;
      }
    );
  });

  // --- ending the chat in this browser ------------------------------------------------------

  endButton.addEventListener("click", function () {
    confirmBox.hidden = false;
    el("chat-confirm-text").focus();
  });

  el("chat-confirm-no").addEventListener("click", function () {
    confirmBox.hidden = true;
    endButton.focus();
  });

  el("chat-confirm-yes").addEventListener("click", function () {
    api("DELETE", "/chat/api/session").then(
      function (r) {
        if (r.status === 204 || r.status === 401) {
          forgetToken();
          save(OUTBOX_KEY, null);
          log.textContent = "";
          shown = {};
          lastId = 0;
          say(T.ended);
          textBox.focus();
          return;
        }
        showError(detail(r));
      },
      function () {
        showError(T.network);
      }
    );
  });

  // --- inside the widget's iframe: a close button that tells the host page --------------------

  var closeButton = el("chat-close");
  if (embedded && closeButton && window.parent !== window) {
    closeButton.hidden = false;
    var closeFrame = function () {
      window.parent.postMessage({ type: "stemme-chat:close" }, "*");
    };
    closeButton.addEventListener("click", closeFrame);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        closeFrame();
      }
    });
  }

  // --- start ----------------------------------------------------------------------------------

  form.hidden = false;
  endButton.hidden = !token;
  loadHistory().then(function () {
    flushOutbox();
    startStream();
  });
})();
