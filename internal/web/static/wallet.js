// wallet.js: passkeys (W3C Web Authentication) for the wallet pages. The pages work without it
// for everything but passkeys; there is no inline script (Content-Security-Policy default-src
// 'self').
//
// A button with data-passkey="register|get" inside a form asks the server for options
// (POST data-options, CSRF token from <meta name="csrf-token"> in the X-CSRF-Token header),
// runs navigator.credentials.create or .get with them, puts the ceremony and the JSON of the
// credential into the form's hidden fields "ceremony" and "response", sets "method" to passkey
// when the form has it, and submits the form. Messages come from the button's data-wait and
// data-failed attributes, in the page's language.
(function () {
  'use strict';

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';

  function fromB64u(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function decodeList(list) {
    (list || []).forEach(function (c) { c.id = fromB64u(c.id); });
  }

  // creation and request turn the server's JSON options into what the browser API takes.
  function creation(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    pk.user.id = fromB64u(pk.user.id);
    decodeList(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function request(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    decodeList(pk.allowCredentials);
    var out = { publicKey: pk };
    if (o.mediation) out.mediation = o.mediation;
    return out;
  }

  // credentialJSON is the PublicKeyCredential in the JSON form servers read (WebAuthn L3
  // toJSON), written out for browsers that lack toJSON.
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id, rawId: toB64u(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) out.response.userHandle = toB64u(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function options(url) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' }
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error((body.error && body.error.message) || ('HTTP ' + res.status));
        return body;
      });
    });
  }

  function field(form, name) {
    return form.elements.namedItem(name);
  }

  function say(btn, text) {
    var id = btn.getAttribute('aria-describedby');
    var el = id && document.getElementById(id);
    if (el) el.textContent = text;
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);

  Array.prototype.forEach.call(document.querySelectorAll('[data-passkey]'), function (btn) {
    if (!supported) {
      var note = document.getElementById(btn.getAttribute('data-unsupported') || '');
      if (note) note.hidden = false;
      return;
    }
    btn.hidden = false;
    btn.addEventListener('click', function (ev) {
      ev.preventDefault();
      var form = btn.form;
      btn.disabled = true;
      say(btn, btn.getAttribute('data-wait') || '');
      options(btn.getAttribute('data-options')).then(function (c) {
        var p = btn.getAttribute('data-passkey') === 'register'
          ? navigator.credentials.create(creation(c.options))
          : navigator.credentials.get(request(c.options));
        return p.then(function (cred) {
          if (!cred) throw new Error('no credential');
          field(form, 'ceremony').value = c.ceremony;
          field(form, 'response').value = credentialJSON(cred);
          var m = field(form, 'method');
          if (m) m.value = 'passkey';
          HTMLFormElement.prototype.submit.call(form);
        });
      }).catch(function (e) {
        btn.disabled = false;
        say(btn, (btn.getAttribute('data-failed') || '') + (e && e.message ? ' (' + e.message + ')' : ''));
      });
    });
  });

  // A form with a "pin" field submits method=pin when the PIN is used.
  Array.prototype.forEach.call(document.querySelectorAll('form[data-proof]'), function (form) {
    form.addEventListener('submit', function () {
      var m = field(form, 'method');
      if (m && !field(form, 'response').value) m.value = 'pin';
    });
  });
})();
