// The analytics dashboard (/dashboard): for supervisors. One request, GET /v1/analytics?from=&to=
// [&channel=], for the picked period (Today, the last 7 days (the default), the last 30 days, or
// custom from/to days, all in the browser's time zone) and channel. Shows KPI tiles for the period,
// a stacked bar chart per day, handoffs by reason (both inline SVG drawn here), tables by channel
// and by agent, hot questions and knowledge gaps, and the alerts.
// The period and channel live in the query string (?period=today|7d|30d, or ?from=&to=, and
// &channel=), so a reload or a shared link keeps them.
// JSON over same-origin fetch; the session cookie authenticates. Server text is only ever put in
// the page with textContent. Plain browser JS, no build step. Tests read window.dashboard
// ({auth(), seq, loading(), last, lastError, query, me}) and the element ids in dashboard.html.
(() => {
  'use strict';

  const { $, str, el, Aborted, api, showMe } = window.vgConsole;
  const body = document.body;
  const SVG = 'http://www.w3.org/2000/svg';

  const PERIODS = { today: 'Today', '7d': 'Last 7 days', '30d': 'Last 30 days', custom: 'Custom' };
  const PERIOD_DAYS = { today: 1, '7d': 7, '30d': 30 };
  const DEFAULT_PERIOD = '7d';
  const CHANNELS = { phone: 'Phone', app: 'In-app', chat: 'Chat', file: 'File' };
  const LANGS = { en: 'English', zh: 'Chinese' };
  const LANG_TAGS = { en: 'EN', zh: '中文' };
  const REASONS = {
    anger: 'Angry caller', caller_request: 'Asked for a person', high_risk: 'High-risk request',
    not_understood: 'Bot didn\'t understand', unresolved: 'Bot couldn\'t resolve', dtmf: 'Pressed for an agent',
    unknown: 'Transferred',
  };
  const WORDS = { id: 'ID', faq: 'FAQ', vip: 'VIP', csat: 'CSAT', qa: 'QA', eta: 'ETA' };
  function human(word) {
    const s = str(word).replace(/[_-]+/g, ' ').trim().split(/\s+/).map((w) => WORDS[w.toLowerCase()] || w).join(' ');
    return s ? s[0].toUpperCase() + s.slice(1) : '';
  }
  const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

  // --- State ------------------------------------------------------------------------------------
  const S = {
    me: null,
    auth: 'loading',      // loading ok signed_out forbidden
    data: null,
    range: null,          // { from, to } of the rendered data
    ctl: null,
    bannerFrom: null,
  };

  const dash = window.dashboard = {
    auth: () => S.auth,
    loading: () => body.dataset.load === 'loading',
    seq: 0,               // bumps when an analytics request finished (data or error)
    last: null,
    lastError: null,
    query: null,          // the query string of the last request
    me: null,
  };

  // --- Small helpers ----------------------------------------------------------------------------
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const n0 = (v) => num(v) || 0;
  const arr = (v) => (Array.isArray(v) ? v : []);
  const objs = (v) => arr(v).filter((x) => x && typeof x === 'object');
  function sv(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function svgIcon(id) {
    const s = sv('svg', { 'aria-hidden': 'true' });
    s.append(sv('use', { href: '#' + id }));
    return s;
  }
  function initials(name) {
    const parts = str(name).trim().split(/[\s._-]+/).filter(Boolean);
    if (!parts.length) return '?';
    return ((parts[0][0] || '') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
  }
  // The KPI formats: plain text a test can compare.
  const fmtInt = (v) => (num(v) === null ? null : String(Math.round(v)));                 // 12
  const fmtPct = (v) => (num(v) === null ? null : `${Math.round(v * 100)}%`);             // 75%
  const fmtCsat = (v) => (num(v) === null ? null : v.toFixed(1));                          // 4.0
  function fmtMss(ms) {                                                                     // 1:05 (m:ss, nearest second)
    if (num(ms) === null) return null;
    const s = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
  const dash0 = (v) => (v === null ? '—' : v);
  function langTag(code) { const c = str(code).toLowerCase(); return LANG_TAGS[c] || c.toUpperCase() || '—'; }
  function langName(code) { const c = str(code).toLowerCase(); return LANGS[c] || c.toUpperCase(); }
  function channelName(c) { return CHANNELS[str(c).toLowerCase()] || human(c) || '—'; }
  function reasonLabel(r) { return REASONS[r] || human(r) || 'Transferred'; }
  function plural(n, one, many) { return `${n} ${n === 1 ? one : many || one + 's'}`; }

  // Days as YYYY-MM-DD in the browser's time zone.
  function ymd(d) { return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; }
  function parseDay(s) { // noon, so that a daylight-saving change never moves the day
    if (!DAY_RE.test(str(s))) return null;
    const [y, m, d] = s.split('-').map(Number);
    const t = new Date(y, m - 1, d, 12);
    return t.getMonth() === m - 1 ? t : null;
  }
  function addDays(s, k) { const d = parseDay(s); d.setDate(d.getDate() + k); return ymd(d); }
  function today() { return ymd(new Date()); }
  function dayLabel(s, opts = { month: 'short', day: 'numeric' }) { const d = parseDay(s); return d ? d.toLocaleDateString([], opts) : str(s); }
  function rangeLabel(from, to) {
    const a = parseDay(from), b = parseDay(to);
    if (!a || !b) return `${from} – ${to}`;
    const y = { year: 'numeric' };
    if (from === to) return a.toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric', ...y });
    const sameYear = a.getFullYear() === b.getFullYear();
    return `${a.toLocaleDateString([], { month: 'short', day: 'numeric', ...(sameYear ? {} : y) })} – ${b.toLocaleDateString([], { month: 'short', day: 'numeric', ...y })}`;
  }
  function fmtWhen(v) {
    const t = Date.parse(str(v));
    if (!Number.isFinite(t)) return str(v);
    const d = new Date(t), now = new Date();
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === now.toDateString()) return `today ${time}`;
    return `${d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' })}, ${time}`;
  }
  function hhmm(t) { return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }

  // --- HTTP -------------------------------------------------------------------------------------

  // --- Banner and access ------------------------------------------------------------------------
  function banner(title, text, kind = 'danger', from = null) {
    S.bannerFrom = from;
    $('#banner').className = `banner vg-callout vg-callout--${kind}`;
    $('#banner-title').textContent = str(title);
    $('#banner-title').hidden = !title;
    $('#banner-text').textContent = str(text);
    $('#banner-text').hidden = !text;
    $('#signin').hidden = S.auth !== 'signed_out';
    $('#banner-close').hidden = S.auth === 'signed_out' || S.auth === 'forbidden';
    $('#banner').hidden = false;
  }
  function hideBanner(from) {
    if (S.auth === 'signed_out' || S.auth === 'forbidden') return;
    if (from && S.bannerFrom !== from) return;
    S.bannerFrom = null;
    $('#banner').hidden = true;
  }
  function setAuth(a) { S.auth = a; body.dataset.auth = a; }
  function signedOut(text) {
    setAuth('signed_out');
    if (S.ctl) S.ctl.abort();
    $('#me').hidden = true;
    $('#signout-form').hidden = true;
    banner('You\'re signed out', text || 'Sign in to see the dashboard.', 'warning', 'auth');
  }
  function forbidden(text) {
    setAuth('forbidden');
    if (S.ctl) S.ctl.abort();
    banner('The dashboard is for supervisors', text || 'Your account can\'t open the dashboard.', 'danger', 'auth');
  }

  // --- The period and channel: state in the URL ----------------------------------------------------
  function readState() {
    const p = new URLSearchParams(location.search);
    const st = { period: DEFAULT_PERIOD, from: '', to: '', channel: '' };
    const from = p.get('from') || '', to = p.get('to') || '';
    if (parseDay(from) && parseDay(to)) { st.period = 'custom'; st.from = from; st.to = to; }
    else if (PERIOD_DAYS[p.get('period')]) st.period = p.get('period');
    const ch = p.get('channel') || '';
    if (/^[a-z_]+$/.test(ch)) st.channel = ch;
    return st;
  }
  function rangeOf(st) {
    if (st.period === 'custom') return st.from <= st.to ? { from: st.from, to: st.to } : { from: st.to, to: st.from };
    const to = today();
    return { from: addDays(to, 1 - (PERIOD_DAYS[st.period] || 7)), to };
  }
  function stateQuery(st) {
    const p = new URLSearchParams();
    if (st.period === 'custom') { p.set('from', st.from); p.set('to', st.to); }
    else if (st.period !== DEFAULT_PERIOD) p.set('period', st.period);
    if (st.channel) p.set('channel', st.channel);
    return p.toString();
  }
  function go(st) {
    const qs = stateQuery(st);
    const url = location.pathname + (qs ? '?' + qs : '');
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    fillControls(st);
    load();
  }
  function fillControls(st) {
    body.dataset.period = st.period;
    for (const b of document.querySelectorAll('#period .seg-btn')) b.setAttribute('aria-pressed', b.dataset.period === st.period ? 'true' : 'false');
    $('#custom-range').hidden = st.period !== 'custom';
    const r = rangeOf(st);
    if (st.period === 'custom' || !$('#from').value) { $('#from').value = r.from; $('#to').value = r.to; }
    const sel = $('#channel');
    if (st.channel && ![...sel.options].some((o) => o.value === st.channel)) sel.append(new Option(channelName(st.channel), st.channel));
    sel.value = st.channel;
    sel.classList.toggle('set', !!st.channel);
  }

  // --- Loading ----------------------------------------------------------------------------------
  async function load() {
    if (S.auth === 'signed_out' || S.auth === 'forbidden') return;
    const st = readState();
    const range = rangeOf(st);
    const p = new URLSearchParams({ from: range.from, to: range.to });
    if (st.channel) p.set('channel', st.channel);
    const qs = p.toString();
    if (S.ctl) S.ctl.abort();
    const ctl = S.ctl = new AbortController();
    body.dataset.load = 'loading';
    dash.query = qs;
    setText($('#period-label'), `${PERIODS[st.period]} · ${rangeLabel(range.from, range.to)} · ${st.channel ? channelName(st.channel) : 'All channels'}`);
    let res;
    try {
      res = await api('/v1/analytics?' + qs, { signal: ctl.signal });
    } catch (e) {
      if (e instanceof Aborted) return;
      throw e;
    }
    if (S.ctl !== ctl) return;
    S.ctl = null;
    if (res.ok && res.data && typeof res.data === 'object') {
      if (S.auth === 'loading') setAuth('ok');
      S.data = dash.last = res.data;
      dash.lastError = null;
      S.range = { from: parseDay(res.data.from) ? res.data.from : range.from, to: parseDay(res.data.to) ? res.data.to : range.to };
      hideBanner('load');
      render();
      body.dataset.load = 'ok';
    } else {
      dash.lastError = res.ok ? 'The server sent no analytics.' : res.error;
      if (res.status === 401) signedOut(res.error);
      else if (res.status === 403) forbidden(res.error);
      else banner('The analytics didn\'t load', dash.lastError, 'danger', 'load');
      body.dataset.load = 'error';
    }
    dash.seq++;
  }

  // --- Rendering --------------------------------------------------------------------------------
  function setText(e, t) { const v = str(t); if (e.textContent !== v) e.textContent = v; }

  function render() {
    const d = S.data || {};
    renderKpis(d.totals && typeof d.totals === 'object' ? d.totals : {}, objs(d.handoffs_by_reason));
    renderAlerts(objs(d.alerts));
    drawDaily();
    drawReasons();
    renderChannels(objs(d.by_channel));
    renderAgents(objs(d.by_agent));
    renderIntents(objs(d.hot_intents));
    renderGaps(objs(d.knowledge_gaps));
    const training = d.training && typeof d.training === 'object' ? d.training : {};
    renderTraining('lowest', objs(training.lowest_qa), 'No scored calls in this period.', (r) => `QA ${n0(r.qa_score)}`);
    renderTraining('angriest', objs(training.angriest), 'No caller\'s anger was scored in this period.', (r) => `anger ${(Number(r.peak_anger) || 0).toFixed(2)}`);
  }

  function kpi(id, value, sub, level) {
    const tile = $('#kpi-' + id);
    const v = tile.querySelector('.value');
    v.textContent = dash0(value);
    v.classList.toggle('none', value === null);
    tile.querySelector('.sub').textContent = str(sub);
    tile.querySelector('.sub').title = str(sub);
    if (level) tile.dataset.level = level; else delete tile.dataset.level;
  }
  function renderKpis(t, reasons) {
    const calls = num(t.calls), contained = num(t.contained), handoffs = num(t.handoffs), abandoned = num(t.abandoned);
    const days = S.range ? Math.round((parseDay(S.range.to) - parseDay(S.range.from)) / 86400000) + 1 : 0;
    kpi('calls', fmtInt(calls), calls !== null && days > 1 ? `${(calls / days).toFixed(calls / days >= 10 ? 0 : 1)} a day` : '');
    kpi('containment', fmtPct(t.containment), contained !== null ? `${contained} by the bot alone` : '',
      num(t.containment) === null ? null : t.containment >= 0.6 ? 'good' : t.containment >= 0.4 ? 'warn' : 'bad');
    const top = [...reasons].sort((a, b) => n0(b.count) - n0(a.count))[0];
    kpi('handoffs', fmtInt(handoffs), top && n0(top.count) ? `most: ${reasonLabel(str(top.reason)).toLowerCase()}` : '');
    kpi('abandonment', fmtPct(t.abandonment), abandoned !== null ? `${abandoned} hung up waiting` : '',
      num(t.abandonment) === null ? null : t.abandonment >= 0.1 ? 'bad' : t.abandonment >= 0.05 ? 'warn' : 'good');
    kpi('fcr', fmtPct(t.fcr), 'solved first time',
      num(t.fcr) === null ? null : t.fcr >= 0.7 ? 'good' : t.fcr >= 0.5 ? 'warn' : 'bad');
    const surveys = num(t.surveys);
    kpi('csat', fmtCsat(t.csat_avg), num(t.csat_satisfied) !== null ? `${fmtPct(t.csat_satisfied)} satisfied (${surveys ?? 0})` : surveys !== null ? plural(surveys, 'survey') : '',
      num(t.csat_avg) === null ? null : t.csat_avg >= 4 ? 'good' : t.csat_avg >= 3 ? 'warn' : 'bad');
    kpi('aht', fmtMss(t.avg_handle_ms), 'with an agent');
    kpi('wait', fmtMss(t.avg_wait_ms), 'in the queue');
  }

  function renderAlerts(alerts) {
    const items = alerts.filter((a) => str(a.message)).map((a) => {
      const level = a.level === 'critical' ? 'critical' : 'warning';
      const div = el('div', 'alert');
      div.dataset.level = level;
      if (a.id !== undefined) div.dataset.id = str(a.id);
      div.append(svgIcon('i-alert'), el('span', 'alert-level', level === 'critical' ? 'Critical' : 'Warning'), el('span', 'alert-message', str(a.message)));
      const since = Date.parse(str(a.since));
      if (Number.isFinite(since)) div.append(el('span', 'alert-since', `since ${fmtWhen(a.since)}`));
      return div;
    });
    $('#alerts').replaceChildren(...items);
  }

  // The days of the period, with the server's numbers where it has them (a day without calls may
  // be missing from `daily`).
  function periodDays() {
    const daily = new Map(objs(S.data && S.data.daily).filter((d) => DAY_RE.test(str(d.day))).map((d) => [d.day, d]));
    const out = [];
    if (S.range && parseDay(S.range.from) && parseDay(S.range.to) && S.range.from <= S.range.to) {
      for (let day = S.range.from, i = 0; day <= S.range.to && i < 732; day = addDays(day, 1), i++) out.push(daily.get(day) || { day, calls: 0, contained: 0, handoffs: 0, abandoned: 0, csat_avg: null });
      for (const [day, d] of daily) if (day < S.range.from || day > S.range.to) out.push(d);
      out.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    } else out.push(...[...daily.values()].sort((a, b) => (a.day < b.day ? -1 : 1)));
    return out;
  }
  // A day's bar from the bottom up: contained, handed off (answered), abandoned, other. Abandoned
  // calls were handed off too when the parts add up to more than the calls: then the handed-off
  // part is what an agent took.
  function splitDay(d) {
    const calls = n0(d.calls), contained = n0(d.contained), handoffs = n0(d.handoffs), abandoned = n0(d.abandoned);
    const handed = contained + handoffs + abandoned > calls && abandoned <= handoffs ? handoffs - abandoned : handoffs;
    const other = Math.max(0, calls - contained - handed - abandoned);
    return { contained, handed, abandoned, other, total: contained + handed + abandoned + other };
  }
  function niceStep(max, ticks) {
    const raw = Math.max(1, max / ticks);
    const p = 10 ** Math.floor(Math.log10(raw)), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  function innerWidth(box) {
    const cs = getComputedStyle(box);
    return Math.max(280, Math.floor(box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)));
  }

  function drawDaily() {
    const box = $('#chart-daily');
    const days = periodDays();
    const parts = days.map(splitDay);
    $('#legend-other').hidden = !parts.some((p) => p.other > 0);
    if (!days.length || !parts.some((p) => p.total > 0)) {
      box.classList.remove('few');
      box.replaceChildren(el('p', 'empty', 'No calls in this period.'));
      box.dataset.days = String(days.length);
      return;
    }
    const W = innerWidth(box), H = 260;
    const m = { l: 44, r: 8, t: 24, b: days.length <= 14 ? 46 : 34 };
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    const max = Math.max(...parts.map((p) => p.total));
    const step = niceStep(max, 4);
    const top = Math.max(step, Math.ceil(max / step) * step);
    const y = (v) => m.t + ph - (v / top) * ph;
    const band = pw / days.length;
    const bw = Math.max(1, Math.min(56, band * 0.64));
    const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'presentation' });
    // Y axis: grid lines and their numbers, the axis title.
    for (let v = 0; v <= top + 1e-9; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      svg.append(sv('line', { class: v === 0 ? 'axis-line' : 'grid-line', x1: m.l, x2: W - m.r, y1: yy, y2: yy }));
      svg.append(sv('text', { class: 'tick', x: m.l - 8, y: yy + 4, 'text-anchor': 'end' }, String(Math.round(v * 100) / 100)));
    }
    svg.append(sv('text', { class: 'axis-title', x: 0, y: 11 }, 'Calls'));
    // X labels: every day when they fit, else every k-th day.
    const every = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(pw / (days.length <= 14 ? 52 : 46)))));
    days.forEach((d, i) => {
      const p = parts[i];
      const cx = m.l + band * i + band / 2;
      const g = sv('g', { class: 'day', 'data-day': d.day, 'data-calls': n0(d.calls) });
      const csat = num(d.csat_avg);
      g.append(sv('title', null, `${dayLabel(d.day, { weekday: 'short', month: 'short', day: 'numeric' })}: ${plural(n0(d.calls), 'call')}\n`
        + `${n0(d.contained)} contained · ${n0(d.handoffs)} handed off · ${n0(d.abandoned)} abandoned`
        + (p.other ? ` · ${p.other} other` : '') + (csat !== null ? `\nCSAT ${csat.toFixed(1)}` : '')));
      g.append(sv('rect', { class: 'hit', x: m.l + band * i, y: m.t, width: band, height: ph }));
      let acc = 0;
      for (const [k, v] of [['contained', p.contained], ['handoff', p.handed], ['abandoned', p.abandoned], ['other', p.other]]) {
        if (!v) continue;
        const y1 = y(acc + v), y0 = y(acc);
        g.append(sv('rect', { class: `seg seg-${k}`, 'data-kind': k, 'data-value': v, x: cx - bw / 2, y: y1, width: bw, height: Math.max(0.5, y0 - y1), rx: Math.min(3, bw / 4) }));
        acc += v;
      }
      if (p.total) g.append(sv('text', { class: 'day-total', x: cx, y: y(p.total) - 5, 'text-anchor': 'middle' }, String(p.total)));
      if (i % every === 0) {
        const t = sv('text', { class: 'tick', x: cx, y: H - m.b + 16, 'text-anchor': 'middle' });
        if (days.length <= 14) {
          t.append(sv('tspan', { x: cx, dy: 0 }, dayLabel(d.day, { weekday: 'short' })));
          t.append(sv('tspan', { x: cx, dy: 13 }, dayLabel(d.day)));
        } else t.textContent = dayLabel(d.day);
        g.append(t);
      }
      svg.append(g);
    });
    box.classList.toggle('few', days.length <= 14);
    box.dataset.days = String(days.length);
    box.replaceChildren(svg);
  }

  function drawReasons() {
    const box = $('#chart-reasons');
    const rows = objs(S.data && S.data.handoffs_by_reason).filter((r) => n0(r.count) > 0).sort((a, b) => n0(b.count) - n0(a.count));
    const total = rows.reduce((s, r) => s + n0(r.count), 0);
    setText($('#reasons-total'), total ? plural(total, 'handoff') : '');
    if (!rows.length) { box.replaceChildren(el('p', 'empty', 'No handoffs in this period.')); return; }
    const W = innerWidth(box), rowH = 36, H = rows.length * rowH;
    const labelW = Math.min(180, Math.round(W * 0.42)), countW = 74;
    const trackW = Math.max(40, W - labelW - countW);
    const max = Math.max(...rows.map((r) => n0(r.count)));
    const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'presentation' });
    const maxChars = Math.max(6, Math.floor((labelW - 12) / 7.4));
    const range = S.range || {};
    rows.forEach((r, i) => {
      const reason = str(r.reason), count = n0(r.count);
      const label = reasonLabel(reason);
      const y0 = i * rowH, cy = y0 + rowH / 2;
      const a = sv('a', { href: `/qa?${new URLSearchParams({ reason, ...(range.from ? { from: range.from, to: range.to } : {}) })}` });
      const g = sv('g', { class: 'bar', 'data-reason': reason, 'data-count': count });
      const share = total ? Math.round((count / total) * 100) : 0;
      g.append(sv('title', null, `${label}: ${plural(count, 'handoff')} (${share}%). Open these calls in the QA console.`));
      g.append(sv('text', { class: 'bar-label', x: labelW - 12, y: cy + 4.5, 'text-anchor': 'end' }, label.length > maxChars ? label.slice(0, maxChars - 1) + '…' : label));
      g.append(sv('rect', { class: 'bar-track', x: labelW, y: cy - 9, width: trackW, height: 18, rx: 5 }));
      const fw = Math.max(3, (count / max) * trackW);
      g.append(sv('rect', { class: 'bar-fill', x: labelW, y: cy - 9, width: fw, height: 18, rx: 5 }));
      g.append(sv('text', { class: 'count', x: labelW + trackW + 10, y: cy + 4.5 }, String(count)));
      g.append(sv('text', { class: 'share', x: labelW + trackW + 12 + 8.2 * String(count).length, y: cy + 4 }, `${share}%`));
      a.append(g);
      svg.append(a);
    });
    box.replaceChildren(svg);
  }

  function placeholder(tbody, cols, text) {
    const tr = el('tr', 'placeholder');
    const td = el('td', null, text);
    td.colSpan = cols;
    tr.append(td);
    tbody.replaceChildren(tr);
  }
  function td(cls, text) { return el('td', cls, text); }
  function csatCell(v) {
    const c = el('td', 'num csat');
    const x = num(v);
    c.textContent = x === null ? '—' : x.toFixed(1);
    if (x === null) c.classList.add('muted');
    return c;
  }
  function renderChannels(rows) {
    const tbody = $('#by-channel tbody');
    if (!rows.length) { placeholder(tbody, 6, 'No calls in this period.'); return; }
    tbody.replaceChildren(...rows.map((r) => {
      const tr = el('tr');
      tr.dataset.channel = str(r.channel);
      const calls = n0(r.calls), contained = n0(r.contained);
      const name = el('td', 'channel');
      name.append(el('span', 'channel-name', channelName(r.channel)));
      const rate = el('td', 'rate-cell');
      if (calls) {
        const w = el('span', 'rate'), bar = el('span', 'rate-bar'), fill = el('span');
        fill.style.width = `${Math.round((contained / calls) * 100)}%`;
        bar.append(fill);
        w.append(bar, el('span', 'rate-num', fmtPct(contained / calls)));
        rate.append(w);
      } else rate.append(el('span', 'muted', '—'));
      tr.append(name, td('num calls', String(calls)), td('num contained', String(contained)), rate, td('num handoffs', String(n0(r.handoffs))), csatCell(r.csat_avg));
      return tr;
    }));
  }
  function renderAgents(rows) {
    const tbody = $('#by-agent tbody');
    setText($('#agents-count'), rows.length ? plural(rows.length, 'agent') : '');
    if (!rows.length) { placeholder(tbody, 4, 'No calls reached an agent in this period.'); return; }
    const range = S.range || {};
    tbody.replaceChildren(...rows.map((r) => {
      const tr = el('tr');
      const id = str(r.agent);
      tr.dataset.agent = id;
      const name = el('td', 'agent');
      const a = el('a', 'agent-link');
      a.href = `/qa?${new URLSearchParams({ agent: id, ...(range.from ? { from: range.from, to: range.to } : {}) })}`;
      a.title = `Open ${id}'s calls in the QA console`;
      a.append(el('span', 'avatar-sm', initials(id)), el('span', 'agent-label', id || '—'));
      name.append(a);
      tr.append(name, td('num calls', String(n0(r.calls))), td('num aht', dash0(fmtMss(r.avg_handle_ms))), csatCell(r.csat_avg));
      return tr;
    }));
  }
  function renderIntents(rows) {
    const list = $('#hot-intents');
    setText($('#hot-intents-empty'), 'No questions in this period.');
    list.replaceChildren(...rows.map((r) => {
      const li = el('li');
      const rising = r.rising === true;
      li.dataset.intent = str(r.intent);
      li.dataset.rising = rising ? 'true' : 'false';
      const name = el('span', 'intent-name', human(r.intent) || '—');
      name.title = str(r.intent);
      if (rising) {
        const tw = n0(r.this_week), lw = n0(r.last_week);
        const t = el('span', 'trend rising', lw ? `↑ ${Math.round(((tw - lw) / lw) * 100)}%` : '↑ new');
        t.title = 'Rising: asked more this week than last';
        name.append(' ', t);
      }
      li.append(name, el('span', 'weeks', `${n0(r.this_week)} this week · ${n0(r.last_week)} last week`), el('span', 'intent-count', String(n0(r.count))));
      return li;
    }));
  }
  function renderGaps(rows) {
    const list = $('#gaps');
    setText($('#gaps-empty'), 'No unanswered questions in this period.');
    list.replaceChildren(...rows.map((r) => {
      const li = el('li');
      li.dataset.lang = str(r.lang);
      const meta = el('div', 'gap-meta');
      if (r.lang) { const t = el('span', 'lang-tag', langTag(r.lang)); t.title = langName(r.lang); meta.append(t); }
      meta.append(el('span', 'gap-asked', `asked ${plural(n0(r.asked), 'time')}`));
      if (r.last_asked) meta.append(el('span', 'gap-last', `last asked ${fmtWhen(r.last_asked)}`));
      li.append(el('p', 'gap-q', str(r.question)), meta);
      return li;
    }));
  }

  // Calls to learn from, each a link to its page in the QA console.
  function renderTraining(which, rows, empty, figure) {
    const list = $('#training-' + which);
    setText($('#training-' + which + '-empty'), empty);
    list.replaceChildren(...rows.map((r) => {
      const li = el('li');
      li.dataset.call = str(r.call);
      const a = el('a', 'training-call', str(r.caller) || 'Unknown caller');
      a.href = '/qa#call=' + encodeURIComponent(str(r.call));
      li.append(a, el('span', 'weeks', `${channelName(r.channel)} · ${fmtWhen(r.started_at)}`), el('span', 'intent-count', figure(r)));
      return li;
    }));
  }

  // --- Who's signed in ------------------------------------------------------------------------------
  async function loadMe() {
    const res = await api('/v1/me');
    if (!res.ok) {
      if (res.status === 401) signedOut(res.error);
      else if (res.status === 403) forbidden(res.error);
      return false;
    }
    S.me = dash.me = res.data || {};
    showMe(S.me, human(S.me.role), initials(S.me.name));
    return S.auth !== 'forbidden';
  }

  // --- Wiring ---------------------------------------------------------------------------------------
  $('#period').addEventListener('click', (e) => {
    const b = e.target.closest('.seg-btn');
    if (!b) return;
    const st = readState();
    const p = b.dataset.period;
    if (p === 'custom') {
      // Start from the range on screen; the request waits for Apply.
      const r = rangeOf(st);
      $('#from').value = r.from;
      $('#to').value = r.to;
      body.dataset.period = 'custom';
      for (const x of document.querySelectorAll('#period .seg-btn')) x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
      $('#custom-range').hidden = false;
      $('#from').focus();
      return;
    }
    go({ ...st, period: p, from: '', to: '' });
  });
  $('#filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = $('#from').value, to = $('#to').value;
    if (!parseDay(from) || !parseDay(to)) { banner('Pick two days', 'Custom periods need a from and a to day.', 'warning', 'form'); return; }
    if (from > to) { banner('Check the days', 'The from day comes after the to day.', 'warning', 'form'); return; }
    hideBanner('form');
    go({ ...readState(), period: 'custom', from, to });
  });
  $('#channel').addEventListener('change', () => {
    const st = readState();
    if (body.dataset.period === 'custom' && st.period !== 'custom' && parseDay($('#from').value) && parseDay($('#to').value) && $('#from').value <= $('#to').value) {
      Object.assign(st, { period: 'custom', from: $('#from').value, to: $('#to').value });
    }
    go({ ...st, channel: $('#channel').value });
  });
  $('#banner-close').addEventListener('click', () => hideBanner());
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('#banner').hidden) hideBanner(); });
  window.addEventListener('popstate', () => { fillControls(readState()); load(); });

  if (window.ResizeObserver) {
    const widths = new WeakMap();
    const ro = new ResizeObserver((entries) => {
      let redraw = false;
      for (const en of entries) {
        const w = Math.round(en.contentRect.width);
        if (w && w !== widths.get(en.target)) { if (widths.has(en.target)) redraw = true; widths.set(en.target, w); }
      }
      if (redraw && S.data) { drawDaily(); drawReasons(); }
    });
    ro.observe($('#chart-daily'));
    ro.observe($('#chart-reasons'));
  }

  async function start() {
    setAuth('loading');
    fillControls(readState());
    const ok = await loadMe();
    if (!ok && (S.auth === 'signed_out' || S.auth === 'forbidden')) { dash.seq++; return; }
    load();
  }
  start();
})();
