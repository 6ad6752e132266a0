// The platform's login page (扫码登录): polls the state of this browser's QR code every 1.5 s,
// asks for a new code when one expires, and submits the completion form once the phone
// confirmed. Served as a file (the pages' Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  var root = document.getElementById("qr-login");
  if (!root) { return; }
  var d = root.dataset;
  var qr = d.qr;
  var img = document.getElementById("qr-image");
  var status = document.getElementById("qr-status");
  var expires = document.getElementById("qr-expires");
  var link = document.getElementById("qr-link");
  var form = document.getElementById("qr-complete");
  var retry = document.getElementById("qr-retry");
  var field = form.querySelector("input[name=qr]");
  var timer = 0;
  var stopped = false;

  function say(key) { status.textContent = d["msg" + key.charAt(0).toUpperCase() + key.slice(1)] || key; }

  function later(ms) { clearTimeout(timer); timer = setTimeout(poll, ms); }

  function fresh() {
    var body = new URLSearchParams({ authRequest: d.authRequest });
    fetch("/login/qr", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": d.csrf }, body: body })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { stop(res.j.error ? res.j.error.message : d.msgFailed); return; }
        qr = res.j.qr;
        field.value = qr;
        img.src = res.j.image;
        link.href = res.j.content;
        expires.setAttribute("datetime", res.j.expires_at);
        expires.textContent = new Date(res.j.expires_at).toLocaleString();
        img.parentNode.classList.remove("done");
        retry.hidden = true;
        stopped = false;
        say("pending");
        later(1500);
      })
      .catch(function () { stop(d.msgFailed); });
  }

  function stop(message) {
    stopped = true;
    clearTimeout(timer);
    status.textContent = message;
    img.parentNode.classList.add("done");
    retry.hidden = false;
  }

  function poll() {
    if (stopped) { return; }
    fetch("/login/qr/" + encodeURIComponent(qr), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { stop(res.j.error ? res.j.error.message : d.msgFailed); return; }
        switch (res.j.status) {
          case "confirmed":
            stopped = true;
            say("confirmed");
            field.value = qr;
            form.submit();
            return;
          case "declined":
            stop(d.msgDeclined);
            return;
          case "expired":
            say("expired");
            fresh();
            return;
          case "consumed":
            stop(d.msgFailed);
            return;
          case "scanned":
            say("scanned");
            break;
          default:
            say("pending");
        }
        later(1500);
      })
      .catch(function () { later(3000); });
  }

  retry.addEventListener("click", fresh);
  later(1500);
}());
