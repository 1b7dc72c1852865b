// Hearth dashboard: progressive enhancement over server-rendered pages.
// Relative times, two-tap confirm on touch screens, live refresh from one
// shared event stream, and the live run log with autoscroll.
'use strict';
(() => {
  const main = document.getElementById('main');

  // ---- relative times ("in 5 min", "3 h ago") -------------------------------
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
  const STEPS = [[60, 'second'], [3600, 'minute', 60], [86400, 'hour', 3600], [86400 * 30, 'day', 86400], [Infinity, 'month', 86400 * 30]];
  function relative(date) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    const abs = Math.abs(seconds);
    if (abs < 45) return seconds < 0 ? 'just now' : 'in a moment';
    for (const [limit, unit, size = 1] of STEPS) if (abs < limit) return rtf.format(Math.round(seconds / size), unit);
    return '';
  }
  // A phone has no hover: a tap on any time switches the whole page between relative and exact times
  // (remembered). Exact-only times ([data-after]) get the relative one beside them.
  let exact = false;
  try { exact = localStorage.getItem('hearth.exactTimes') === '1'; } catch { /* private mode */ }
  function renderTimes(root) {
    for (const el of root.querySelectorAll('time[data-rel]')) {
      const date = new Date(el.getAttribute('datetime'));
      if (!Number.isNaN(date.getTime())) el.textContent = exact ? el.dataset.abs : relative(date);
    }
    for (const el of root.querySelectorAll('time[data-after]')) {
      const date = new Date(el.getAttribute('datetime'));
      if (!Number.isNaN(date.getTime())) el.textContent = el.dataset.abs + ' (' + relative(date) + ')';
    }
  }
  renderTimes(document);
  setInterval(() => renderTimes(document), 30000);
  document.addEventListener('click', (event) => {
    const time = event.target instanceof Element && event.target.closest('time[data-rel]');
    if (!time) return;
    event.preventDefault();
    exact = !exact;
    try { localStorage.setItem('hearth.exactTimes', exact ? '1' : '0'); } catch { /* private mode */ }
    renderTimes(document);
  });

  // ---- confirm: on a phone, the first tap arms the button, the second submits
  const touch = () => matchMedia('(pointer: coarse)').matches || innerWidth < 700;
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || !touch()) return;
    const button = form.querySelector('button');
    if (form.dataset.armed === '1') return;
    event.preventDefault();
    form.dataset.armed = '1';
    const label = button.textContent;
    button.textContent = 'Tap again: ' + label.toLowerCase();
    button.classList.add('confirming');
    button.setAttribute('aria-label', form.dataset.confirm + ' Tap again to confirm.');
    setTimeout(() => {
      delete form.dataset.armed;
      button.textContent = label;
      button.classList.remove('confirming');
      button.removeAttribute('aria-label');
    }, 4000);
  });
  document.addEventListener('focusin', (event) => {
    if (event.target.matches && event.target.matches('[data-select]')) event.target.select();
  });

  // ---- live refresh: one EventSource per tab, re-read the page region on change
  const live = main && main.dataset.live;
  let refreshing = false, again = false, timer = 0, lastRefresh = 0;
  async function refresh() {
    if (document.visibilityState !== 'visible') { again = true; return; }
    if (refreshing) { again = true; return; }
    refreshing = true; lastRefresh = Date.now();
    try {
      const response = await fetch(location.href, { headers: { 'X-Hearth-Partial': '1' }, credentials: 'same-origin', cache: 'no-store' });
      if (response.redirected || !response.ok) { if (response.status === 401 || response.redirected) location.reload(); return; }
      const text = await response.text();
      const part = main.querySelector('[data-live-part]');
      if (part) {
        const fresh = new DOMParser().parseFromString(text, 'text/html').querySelector('[data-live-part]');
        if (fresh) part.replaceWith(fresh);
      } else {
        main.innerHTML = text;
      }
      renderTimes(main);
    } catch { /* offline for a moment: the next event or timer tries again */ }
    finally {
      refreshing = false;
      if (again) { again = false; schedule(); }
    }
  }
  function schedule() {
    clearTimeout(timer);
    // Coalesce bursts (a run with many tasks): at most one re-read every 1.5 s.
    timer = setTimeout(refresh, Math.max(300, 1500 - (Date.now() - lastRefresh)));
  }
  function matches(run) {
    if (live === '*') return true;
    if (live.startsWith('job:')) return run.job === live.slice(4);
    if (live.startsWith('run:')) return run.id === live.slice(4);
    return false;
  }
  if (live && live.startsWith('every:')) {
    setInterval(() => document.visibilityState === 'visible' && refresh(), Number(live.slice(6)) * 1000);
  } else if (live && 'EventSource' in window) {
    const events = new EventSource('/events');
    events.addEventListener('run', (event) => {
      try { if (matches(JSON.parse(event.data))) schedule(); } catch { /* ignore a malformed event */ }
    });
    addEventListener('pagehide', () => events.close());
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && again) { again = false; schedule(); }
  });

  // ---- the run log: streamed over SSE, autoscroll until the reader scrolls up
  const log = document.getElementById('log');
  if (log && 'EventSource' in window) {
    const follow = document.getElementById('follow');
    const state = document.getElementById('log-state');
    // The page asks for its last lines only (data-tail): a huge log is a download, not a replay.
    const MAX_LINES = Number(log.dataset.tail) || 5000;
    // Log lines carry UTC timestamps; show them in the page's zone, like every other time on it.
    let clock;
    try {
      clock = new Intl.DateTimeFormat('en-GB', { timeZone: document.body.dataset.tz || undefined, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    } catch {
      clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    }
    let following = true, pending = [], frame = 0, opened = false, ended = log.dataset.finished === '1', programmatic = false;
    const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    function lineNode(line) {
      const div = document.createElement('div');
      const m = /^(\S+) \[([^\]]*?)(!?)\] (.*)$/.exec(line);
      if (!m) { div.textContent = line; return div; }
      const time = document.createElement('span');
      time.className = 't';
      const at = new Date(m[1]);
      time.textContent = (Number.isNaN(at.getTime()) ? m[1].slice(11, 19) : clock.format(at)) + ' ';
      const source = document.createElement('span');
      source.className = m[2] === 'hearth' ? 'h' : m[3] ? 'e' : 'k';
      source.textContent = '[' + m[2] + '] ';
      const text = document.createElement('span');
      if (m[3]) text.className = 'e';
      text.textContent = m[4];
      div.append(time, source, text);
      return div;
    }
    function flush() {
      frame = 0;
      const fragment = document.createDocumentFragment();
      for (const line of pending) fragment.append(lineNode(line));
      pending = [];
      log.append(fragment);
      while (log.childElementCount > MAX_LINES) log.firstElementChild.remove();
      if (following) { programmatic = true; log.scrollTop = log.scrollHeight; }
    }
    log.addEventListener('scroll', () => {
      if (programmatic) { programmatic = false; return; }
      following = atBottom();
      // Once the run has finished there is nothing more to follow.
      follow.hidden = following || ended;
    });
    follow.addEventListener('click', () => {
      following = true; follow.hidden = true;
      programmatic = true; log.scrollTop = log.scrollHeight;
    });
    const source = new EventSource('/api/runs/' + encodeURIComponent(log.dataset.run) + '/logs?tail=' + MAX_LINES);
    source.addEventListener('open', () => {
      // A reconnect replays the log's last lines again: begin again rather than repeat lines.
      if (opened) { log.textContent = ''; pending = []; }
      opened = true;
    });
    source.addEventListener('line', (event) => {
      pending.push(event.data);
      if (!frame) frame = requestAnimationFrame(flush);
    });
    source.addEventListener('end', (event) => {
      ended = true;
      follow.hidden = true;
      source.close();
      let status = '';
      try { status = JSON.parse(event.data).status || ''; } catch { /* keep empty */ }
      if (state) state.textContent = status ? 'finished: ' + status : 'finished';
      if (live) schedule();
    });
    source.addEventListener('error', () => {
      if (!ended && state) state.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
    });
    addEventListener('pagehide', () => source.close());
  }
})();
