// Shared by the consoles' pages (/qa, /dashboard, /supervisor): the DOM helpers and the JSON
// API client. Each page takes what it needs: const { $, str, el, Aborted, api, showMe } = window.vgConsole;
// Plain browser JS, no build step.
window.vgConsole = (() => {
  'use strict';

  const $ = (sel) => document.querySelector(sel);
  const str = (v) => (v === null || v === undefined ? '' : String(v));
  // An element with a class and text (never HTML).
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // Thrown by api() when its request was aborted (a newer one replaced it).
  class Aborted extends Error {}
  // Resolves to { ok, status, data, error }; never rejects except when aborted.
  async function api(path, opts = {}) {
    let r;
    try {
      r = await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...opts, headers: { accept: 'application/json', ...(opts.headers || {}) } });
    } catch (e) {
      if (e && e.name === 'AbortError') throw new Aborted();
      return { ok: false, status: 0, data: null, error: 'The server could not be reached. Check the connection and try again.' };
    }
    let data = null;
    try {
      const text = await r.text();
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      if (e && e.name === 'AbortError') throw new Aborted();
      data = null;
    }
    if (r.ok) return { ok: true, status: r.status, data };
    const error = (data && typeof data === 'object' && typeof data.error === 'string' && data.error)
      || (r.status >= 500 ? `The server had a problem (HTTP ${r.status}).` : `The request failed (HTTP ${r.status}).`);
    return { ok: false, status: r.status, data, error };
  }

  // The header's signed-in user: name, role label and avatar initials, and the sign-out form.
  function showMe(me, role, initials) {
    $('#me-name').textContent = str(me.name) || 'Signed in';
    $('#me-role').textContent = role;
    $('#me-avatar').textContent = initials;
    $('#me').hidden = false;
    $('#signout-form').hidden = false;
  }

  return { $, str, el, Aborted, api, showMe };
})();
