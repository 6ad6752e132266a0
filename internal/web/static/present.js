// present.js: keeps the wallet's presentation QR code (出示码) fresh. The page works without it:
// its "refresh" link loads a new code. With it, the code is replaced before it expires (the
// server says when, in seconds, so the phone's clock does not matter), and the link refreshes
// in place. Requests carry the CSRF token of <meta name="csrf-token"> in X-CSRF-Token.
(function () {
  'use strict';

  var box = document.getElementById('present');
  if (!box || !window.fetch) return;
  var img = document.getElementById('present-qr');
  var expiry = document.getElementById('present-expiry');
  var status = document.getElementById('present-status');
  var link = document.getElementById('present-refresh');
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var timer = 0, busy = false, expiresAt = Date.now() + 1000 * (Number(box.getAttribute('data-refresh-in')) + 30);

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.max(seconds, 1) * 1000);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function refresh() {
    if (busy) return;
    busy = true;
    fetch(box.getAttribute('data-refresh'), {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' }
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error((body.error && body.error.message) || ('HTTP ' + res.status));
        return body;
      });
    }).then(function (t) {
      busy = false;
      img.src = t.qr;
      box.setAttribute('data-token', t.token);
      box.setAttribute('data-url', t.url);
      if (expiry) {
        expiry.setAttribute('datetime', t.expires_at);
        expiry.textContent = t.expiry;
      }
      expiresAt = Date.now() + 1000 * (t.refresh_in + 30);
      say(box.getAttribute('data-refreshed') || '');
      schedule(t.refresh_in);
    }).catch(function (e) {
      busy = false;
      say((Date.now() >= expiresAt ? box.getAttribute('data-expired') : box.getAttribute('data-failed')) +
        (e && e.message ? ' (' + e.message + ')' : ''));
      schedule(10);
    });
  }

  if (link) {
    link.addEventListener('click', function (ev) {
      ev.preventDefault();
      refresh();
    });
  }
  // A phone that slept past the refresh time refreshes as soon as the page is seen again.
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && Date.now() >= expiresAt - 30000) refresh();
  });
  schedule(Number(box.getAttribute('data-refresh-in')) || 1);
})();
