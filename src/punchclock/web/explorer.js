/* Punchclock API explorer: talks to any Kimai 2 compatible server from the browser.
 * Plain JavaScript, no libraries. Every response is rendered with textContent (never as HTML), and
 * the token lives in sessionStorage only: it is sent in a header and never shown, logged or put in a URL.
 */
(() => {
  'use strict';

  const PREFIX = 'punchclock-explorer.';
  const HISTORY_LIMIT = 50;
  const HISTORY_TEXT_LIMIT = 100000; // characters of a response kept in the tab's history
  const PAGE_SIZES = ['10', '50', '100', '200', '500'];
  const OPEN_ALL_LIMIT = 4000; // JSON nodes: larger answers open only their first two levels
  const REASONS = {
    200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
    304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 406: 'Not Acceptable', 409: 'Conflict', 410: 'Gone',
    413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
    429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  const HEADER_NAMES = {
    'x-page': 'X-Page', 'x-total-count': 'X-Total-Count', 'x-total-pages': 'X-Total-Pages',
    'x-per-page': 'X-Per-Page',
  };
  const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

  const state = {
    base: '', // e.g. https://kimai.example.com (no trailing slash, no /api)
    auth: null, // {token, user}
    spec: null,
    operations: [],
    history: [],
    shown: null, // the exchange in the response panel
  };

  // --- small helpers ------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'className') node.className = value;
      else if (name === 'dataset') Object.assign(node.dataset, value);
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function storage(kind) {
    const area = () => (kind === 'local' ? window.localStorage : window.sessionStorage);
    return {
      get(key) {
        try { return area().getItem(PREFIX + key); } catch { return null; }
      },
      set(key, value) {
        try {
          if (value === null || value === undefined || value === '') area().removeItem(PREFIX + key);
          else area().setItem(PREFIX + key, value);
          return true;
        } catch {
          return false; // storage disabled or full: the page still works, it just forgets
        }
      },
    };
  }
  const session = storage('session');
  const local = storage('local');

  function announce(message) {
    const status = $('status');
    status.textContent = '';
    // A fresh text node after a tick makes screen readers read repeated messages too.
    window.setTimeout(() => { status.textContent = message; }, 30);
  }

  function reason(status, statusText) {
    return REASONS[status] || statusText || '';
  }

  function headerName(lower) {
    return HEADER_NAMES[lower] || lower.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
  }

  // --- JSON: a parser that keeps numbers as written (1000.0 stays 1000.0), and a collapsible view ----

  function parseJson(text) {
    let i = 0;
    const fail = (what) => { throw new SyntaxError(`${what} at character ${i + 1}`); };
    const skip = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1; };
    const stringToken = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
    const numberToken = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    const readString = () => {
      stringToken.lastIndex = i;
      const match = stringToken.exec(text);
      if (!match) fail('Invalid string');
      i = stringToken.lastIndex;
      return JSON.parse(match[0]);
    };
    const readValue = (depth) => {
      if (depth > 512) fail('Too deeply nested');
      skip();
      const c = text[i];
      if (c === '{' || c === '[') {
        const isObject = c === '{';
        const close = isObject ? '}' : ']';
        const entries = [];
        i += 1;
        skip();
        if (text[i] === close) { i += 1; return { type: isObject ? 'object' : 'array', entries }; }
        for (;;) {
          skip();
          let key = null;
          if (isObject) {
            if (text[i] !== '"') fail('Expected a key');
            key = readString();
            skip();
            if (text[i] !== ':') fail("Expected ':'");
            i += 1;
          }
          entries.push([key, readValue(depth + 1)]);
          skip();
          if (text[i] === ',') { i += 1; continue; }
          if (text[i] === close) { i += 1; return { type: isObject ? 'object' : 'array', entries }; }
          fail(`Expected ',' or '${close}'`);
        }
      }
      if (c === '"') return { type: 'string', value: readString() };
      numberToken.lastIndex = i;
      const number = numberToken.exec(text);
      if (number) { i = numberToken.lastIndex; return { type: 'number', raw: number[0] }; }
      for (const [word, type] of [['true', 'bool'], ['false', 'bool'], ['null', 'null']]) {
        if (text.startsWith(word, i)) { i += word.length; return { type, raw: word }; }
      }
      return fail('Unexpected character');
    };
    const root = readValue(0);
    skip();
    if (i < text.length) fail('Unexpected text after the JSON value');
    return root;
  }

  function countNodes(node) {
    if (node.type !== 'object' && node.type !== 'array') return 1;
    return node.entries.reduce((sum, [, child]) => sum + countNodes(child), 1);
  }

  // The view reads as JSON (its text parses back to the answer); counts are CSS-only decorations.
  function jsonView(root) {
    const openDepth = countNodes(root) > OPEN_ALL_LIMIT ? 2 : Infinity;
    const render = (key, node, depth, last) => {
      const comma = last ? '' : ',';
      const label = key === null ? [] : [el('span', { className: 'j-key', text: JSON.stringify(key) }),
        el('span', { className: 'j-punct', text: ': ' })];
      if ((node.type === 'object' || node.type === 'array') && node.entries.length) {
        const [open, close] = node.type === 'object' ? ['{', '}'] : ['[', ']'];
        const size = node.entries.length;
        const noun = node.type === 'object' ? (size === 1 ? 'key' : 'keys') : (size === 1 ? 'item' : 'items');
        const details = el('details', { className: 'j-node', open: depth < openDepth },
          el('summary', { 'data-collapsed': `${size} ${noun} ${close}${comma}` }, label,
            el('span', { className: 'j-punct', text: open })),
          el('div', { className: 'j-children' },
            node.entries.map(([childKey, child], index) => render(childKey, child, depth + 1, index === size - 1))),
          el('div', { className: 'j-close' }, el('span', { className: 'j-punct', text: close }), comma));
        return details;
      }
      let value;
      if (node.type === 'object') value = el('span', { className: 'j-punct', text: '{}' });
      else if (node.type === 'array') value = el('span', { className: 'j-punct', text: '[]' });
      else if (node.type === 'string') value = el('span', { className: 'j-string', text: JSON.stringify(node.value) });
      else value = el('span', { className: `j-${node.type}`, text: node.raw });
      return el('div', { className: 'j-line' }, label, value, comma);
    };
    return el('div', { className: 'json', id: 'json-view', role: 'region', 'aria-label': 'Response body' },
      render(null, root, 0, true));
  }

  // --- requests -----------------------------------------------------------------------------------

  function normaliseBase(input) {
    let text = (input || '').trim();
    if (!text) return { error: 'Enter the server base URL, for example https://kimai.example.com' };
    let url;
    try { url = new URL(text); } catch { url = null; }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host) {
      return { error: `"${text}" is not a server URL: enter the full address, starting with http:// or https://` };
    }
    text = url.origin + url.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
    return { base: text, url };
  }

  function credentials(auth) {
    return auth.user
      ? { 'X-AUTH-USER': auth.user, 'X-AUTH-TOKEN': auth.token }
      : { Authorization: `Bearer ${auth.token}` };
  }

  function requestUrl(base, request) {
    const query = new URLSearchParams(request.query || []).toString();
    return base + request.path + (query ? `?${query}` : '');
  }

  // One request and its answer; never throws (a failure is an exchange with an error).
  async function exchange(request, base = state.base, auth = state.auth) {
    const url = requestUrl(base, request);
    const headers = { Accept: 'application/json', ...credentials(auth) };
    const init = { method: request.method, headers, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };
    if (request.body !== null && request.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = request.body;
    }
    const started = performance.now();
    const result = { request, url, at: Date.now() };
    try {
      const response = await fetch(url, init);
      result.text = await response.text();
      result.status = response.status;
      result.statusText = reason(response.status, response.statusText);
      result.contentType = response.headers.get('content-type') || '';
      // Cross-origin, only the headers the server exposes are readable: Kimai exposes its X-* paging headers.
      result.headers = [...response.headers].filter(([name]) => name.startsWith('x-')).map(([name, value]) => [headerName(name), value]);
    } catch {
      result.error = `No answer from ${base}: the server is down or unreachable, the address is wrong, `
        + 'or the server does not allow requests from this page (CORS).';
    }
    result.ms = Math.round(performance.now() - started);
    return result;
  }

  // --- login ------------------------------------------------------------------------------------

  function loginProblem(result, base, auth) {
    if (result.error) return result.error;
    const where = `${base}/api/version`;
    if (result.status === 401) return 'The server refused the token (401 Unauthorized): check it, or create a new one.';
    if (result.status === 403 && auth.user) return 'The server refused the username and API password (403 Forbidden).';
    if (result.status === 404) return `Not a Kimai API: ${where} does not exist (404). Check the base URL and its path prefix.`;
    if (result.status < 200 || result.status > 299) return `The server answered ${result.status} ${result.statusText} to ${where}.`;
    let version = null;
    try { version = JSON.parse(result.text); } catch { version = null; }
    if (!version || typeof version.version !== 'string' || !('versionId' in version)) {
      return `Not a Kimai server: ${where} answered ${result.status}, but not with Kimai's version JSON.`;
    }
    return '';
  }

  function describeServer(version) {
    const api = `Kimai API ${version.version}`;
    return version.server ? `${version.server} ${version.serverVersion || ''} (${api})`.replace(/\s+\(/, ' (') : api;
  }

  async function logIn(event) {
    if (event) event.preventDefault();
    const error = $('login-error');
    error.textContent = '';
    const target = normaliseBase($('base-url').value);
    const token = $('token').value.trim();
    const user = $('username').value.trim();
    if (target.error) { error.textContent = target.error; $('base-url').focus(); return; }
    if (!token) { error.textContent = 'Enter an API token.'; $('token').focus(); return; }
    const auth = { token, user };
    const button = $('login-button');
    button.disabled = true;
    announce(`Connecting to ${target.base}…`);
    const result = await exchange({ method: 'GET', path: '/api/version', query: [] }, target.base, auth);
    button.disabled = false;
    remember(result);
    const problem = loginProblem(result, target.base, auth);
    if (problem) {
      error.textContent = problem;
      session.set('token', null); // a reload must not reconnect with an older token
      logOut(false);
      showExchange(result);
      return;
    }
    state.base = target.base;
    state.auth = auth;
    session.set('token', token);
    session.set('user', user);
    session.set('base', target.base);
    local.set('base', target.base);
    $('base-url').value = target.base;
    const connection = $('connection');
    connection.textContent = `Connected to ${describeServer(JSON.parse(result.text))} at ${target.base}`;
    connection.classList.add('connected');
    $('http-warning').hidden = !(target.url.protocol === 'http:' && !isLoopback(target.url.hostname));
    $('logout-button').hidden = false;
    $('workspace').hidden = false;
    $('doc-link').href = `${target.base}/api/doc`;
    $('doc-link').hidden = false;
    showExchange(result);
    announce(connection.textContent);
    await loadSpec();
  }

  function isLoopback(host) {
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  }

  function logOut(forget = true) {
    state.auth = null;
    if (forget) {
      session.set('token', null);
      session.set('user', null);
      session.set('base', null);
      $('token').value = '';
      $('result-body').replaceChildren(el('p', { className: 'hint', text: 'Logged out.' }));
      state.shown = null;
      announce('Logged out');
    }
    $('workspace').hidden = true;
    $('logout-button').hidden = true;
    $('http-warning').hidden = true;
    const connection = $('connection');
    connection.textContent = 'Not connected';
    connection.classList.remove('connected');
  }

  // --- sending and showing ------------------------------------------------------------------------

  async function send(request) {
    if (!state.auth) return;
    announce(`Sending ${request.method} ${request.path}…`);
    setBusy(true);
    const result = await exchange(request);
    setBusy(false);
    remember(result);
    showExchange(result);
  }

  function setBusy(busy) {
    document.querySelectorAll('#workspace button, #result button').forEach((button) => {
      if (busy) {
        button.dataset.wasDisabled = button.disabled ? '1' : '';
        button.disabled = true;
      } else if (button.dataset.wasDisabled !== undefined) {
        button.disabled = button.dataset.wasDisabled === '1';
        delete button.dataset.wasDisabled;
      }
    });
    $('result').setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function headerValue(result, name) {
    const found = (result.headers || []).find(([key]) => key.toLowerCase() === name.toLowerCase());
    return found ? found[1] : null;
  }

  function showExchange(result) {
    state.shown = result;
    const { request } = result;
    const parts = [el('p', { className: 'request-line' },
      el('span', { className: 'method', text: request.method }),
      el('code', { className: 'url', id: 'result-url', text: result.url }))];
    if (result.error) {
      parts.push(el('p', { className: 'message error', id: 'result-error', text: result.error }));
      announce(`${request.method} ${request.path}: no answer`);
    } else {
      const good = result.status >= 200 && result.status < 300;
      const facts = el('dl', { className: 'facts', id: 'result-facts' },
        el('div', {}, el('dt', { text: 'Status' }),
          el('dd', { id: 'result-status', className: good ? 'status-ok' : 'status-error', text: `${result.status} ${result.statusText}`.trim() })),
        el('div', {}, el('dt', { text: 'Time' }), el('dd', { id: 'result-time', text: `${result.ms} ms` })),
        result.headers.map(([name, value]) => el('div', {}, el('dt', { text: name }), el('dd', { dataset: { header: name }, text: value }))));
      parts.push(facts);
      const pager = pagerFor(result);
      if (pager) parts.push(pager);
      parts.push(toolbarFor(result));
      parts.push(bodyView(result));
      announce(`${request.method} ${request.path}: ${result.status} ${result.statusText} in ${result.ms} ms`);
    }
    $('result-body').replaceChildren(...parts);
    markCurrentHistory();
  }

  function bodyView(result) {
    if (!result.text) return el('p', { className: 'hint', id: 'result-empty', text: '(empty body)' });
    try {
      return jsonView(parseJson(result.text));
    } catch (problem) {
      const note = /json/i.test(result.contentType) ? `Invalid JSON: ${problem.message}` : `Not JSON (${result.contentType || 'no content type'})`;
      return el('div', {}, el('p', { className: 'hint', text: note }),
        el('pre', { className: 'raw', id: 'raw-view', tabindex: '0', 'aria-label': 'Response body' }, result.text));
    }
  }

  function toolbarFor(result) {
    const toggleAll = (open) => () => {
      document.querySelectorAll('#json-view details').forEach((node) => { node.open = open; });
    };
    return el('div', { className: 'toolbar', role: 'toolbar', 'aria-label': 'Response actions' },
      el('button', { type: 'button', id: 'expand-all', text: 'Expand all', onclick: toggleAll(true) }),
      el('button', { type: 'button', id: 'collapse-all', text: 'Collapse all', onclick: toggleAll(false) }),
      el('button', { type: 'button', id: 'copy-body', text: 'Copy body', onclick: () => copyText(result.text, 'Body copied') }),
      el('button', { type: 'button', id: 'resend', text: 'Send again', onclick: () => send(result.request) }),
      el('button', { type: 'button', id: 'result-curl', text: 'Copy as curl', onclick: () => showCurl(result.request) }));
  }

  function pagerFor(result) {
    const pages = Number(headerValue(result, 'X-Total-Pages'));
    const page = Number(headerValue(result, 'X-Page'));
    if (!Number.isInteger(pages) || !Number.isInteger(page) || pages < 1) return null;
    const total = headerValue(result, 'X-Total-Count');
    const perPage = headerValue(result, 'X-Per-Page') || '';
    const go = (target, size) => () => {
      const query = (result.request.query || []).filter(([name]) => name !== 'page' && (size === undefined || name !== 'size'));
      query.push(['page', String(target)]);
      if (size !== undefined) query.push(['size', size]);
      send({ ...result.request, query });
    };
    const button = (id, text, target, label) => el('button', {
      type: 'button', id, text, 'aria-label': label, disabled: target < 1 || target > pages || target === page, onclick: go(target),
    });
    const sizes = PAGE_SIZES.includes(perPage) ? PAGE_SIZES : [...PAGE_SIZES, perPage].filter(Boolean);
    const select = el('select', { id: 'page-size', onchange: (event) => go(1, event.target.value)() },
      sizes.map((size) => el('option', { value: size, selected: size === perPage, text: size })));
    return el('nav', { className: 'pager', 'aria-label': 'Pages' },
      button('page-first', 'First', 1, 'First page'),
      button('page-previous', 'Previous', page - 1, 'Previous page'),
      el('span', { className: 'page-info', id: 'page-info', text: `Page ${page} of ${pages}${total === null ? '' : ` (${total} entries)`}` }),
      button('page-next', 'Next', page + 1, 'Next page'),
      button('page-last', 'Last', pages, 'Last page'),
      el('label', { for: 'page-size', text: 'Per page' }), select);
  }

  // --- copy as curl -------------------------------------------------------------------------------

  const shellQuote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;

  function curlCommand(request) {
    const lines = [`curl${request.method === 'GET' ? '' : ` -X ${request.method}`} ${shellQuote(requestUrl(state.base, request))}`];
    lines.push(`-H ${shellQuote('Accept: application/json')}`);
    if (state.auth && state.auth.user) {
      lines.push(`-H ${shellQuote(`X-AUTH-USER: ${state.auth.user}`)}`, '-H "X-AUTH-TOKEN: $KIMAI_API_TOKEN"');
    } else {
      lines.push('-H "Authorization: Bearer $KIMAI_API_TOKEN"');
    }
    if (request.body !== null && request.body !== undefined) {
      lines.push(`-H ${shellQuote('Content-Type: application/json')}`, `--data-raw ${shellQuote(request.body)}`);
    }
    return lines.join(' \\\n  ');
  }

  function showCurl(request) {
    const output = $('curl-output');
    output.value = curlCommand(request);
    $('curl-box').hidden = false;
    copyText(output.value, 'curl command copied', output);
  }

  async function copyText(text, done, fallbackField) {
    try {
      await navigator.clipboard.writeText(text);
      announce(done);
    } catch {
      if (fallbackField) {
        fallbackField.focus();
        fallbackField.select();
        announce('Copying is not allowed here: the text is selected, copy it with the keyboard');
      } else {
        announce('Copying is not allowed here');
      }
    }
  }

  // --- history ------------------------------------------------------------------------------------

  // Secrets sent or shown once (passwords, a new API token's secret) stay out of the history.
  const SECRET_KEYS = new Set(['plainPassword', 'plain_password', 'plainApiToken', 'plain_api_token', 'password', 'token']);

  function redact(text) {
    if (typeof text !== 'string') return text;
    let data;
    try { data = JSON.parse(text); } catch { return text; }
    let hidden = false;
    const walk = (value) => {
      if (!value || typeof value !== 'object') return;
      for (const key of Object.keys(value)) {
        if (SECRET_KEYS.has(key) && typeof value[key] === 'string') {
          value[key] = '(not kept in the history)';
          hidden = true;
        } else {
          walk(value[key]);
        }
      }
    };
    walk(data);
    return hidden ? JSON.stringify(data) : text;
  }

  function remember(result) {
    const kept = { ...result, text: redact(result.text) };
    if (result.request) kept.request = { ...result.request, body: redact(result.request.body) };
    if (kept.text && kept.text.length > HISTORY_TEXT_LIMIT) {
      kept.text = kept.text.slice(0, HISTORY_TEXT_LIMIT);
      kept.truncated = true;
    }
    state.history.unshift(kept);
    state.history.length = Math.min(state.history.length, HISTORY_LIMIT);
    saveHistory();
    renderHistory();
  }

  function saveHistory() {
    // Drop the oldest entries until the tab's storage takes the rest.
    for (let keep = state.history.length; keep >= 0; keep -= 1) {
      if (session.set('history', JSON.stringify(state.history.slice(0, keep)))) return;
    }
  }

  function loadHistory() {
    try {
      const saved = JSON.parse(session.get('history') || '[]');
      state.history = Array.isArray(saved) ? saved.filter((entry) => entry && entry.request) : [];
    } catch {
      state.history = [];
    }
  }

  function renderHistory() {
    const list = $('history-list');
    list.replaceChildren(...state.history.map((entry, index) => {
      const outcome = entry.error ? 'no answer' : String(entry.status);
      const when = new Date(entry.at).toLocaleTimeString();
      return el('li', {}, el('button', {
        type: 'button',
        dataset: { index: String(index) },
        'aria-label': `${entry.request.method} ${entry.url}: ${outcome}, ${entry.ms} ms, at ${when}`,
        onclick: () => showExchange(entry),
      },
      el('span', { className: 'method', text: entry.request.method }),
      el('span', { className: 'url', text: entry.request.path + (entry.request.query && entry.request.query.length ? `?${new URLSearchParams(entry.request.query)}` : '') }),
      el('span', { className: entry.error || entry.status >= 400 ? 'status-error' : 'status-ok', text: outcome }),
      el('span', { className: 'when', text: `${entry.ms} ms · ${when}` })));
    }));
    if (!state.history.length) list.append(el('li', { className: 'hint', text: 'Nothing sent yet.' }));
    markCurrentHistory();
  }

  function markCurrentHistory() {
    const index = state.history.indexOf(state.shown);
    document.querySelectorAll('#history-list button').forEach((button) => {
      button.setAttribute('aria-current', String(Number(button.dataset.index) === index));
    });
  }

  // --- the endpoint picker --------------------------------------------------------------------------

  function bundledSpec() {
    const node = $('bundled-spec');
    const text = node ? node.textContent.trim() : '';
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }

  function isSpec(document) {
    return Boolean(document && typeof document === 'object' && document.openapi && document.paths && typeof document.paths === 'object');
  }

  async function loadSpec() {
    let spec = null;
    try {
      const response = await fetch(`${state.base}/api/doc.json`, { headers: { Accept: 'application/json' }, credentials: 'omit', cache: 'no-store' });
      if (response.ok) {
        const document = await response.json();
        if (isSpec(document)) spec = document;
      }
    } catch {
      spec = null; // no document (Kimai 2.66 serves none) or not readable from here
    }
    const source = $('spec-source');
    if (spec) {
      source.textContent = `${Object.keys(spec.paths).length} paths, from the server's /api/doc.json.`;
    } else {
      spec = bundledSpec();
      source.textContent = spec
        ? `The server serves no /api/doc.json: these are the routes of ${spec.info.title} ${spec.info.version}, bundled with this page.`
        : 'The server serves no /api/doc.json and no copy is bundled with this page.';
    }
    state.spec = spec;
    buildPicker();
  }

  function resolve(schema) {
    let current = schema || {};
    for (let hops = 0; current && current.$ref && hops < 32; hops += 1) {
      const ref = current.$ref;
      if (!ref.startsWith('#/')) return {};
      current = ref.slice(2).split('/').reduce((node, part) => (node ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), state.spec);
    }
    return current || {};
  }

  // The first non-null variant of a nullable schema (anyOf [X, null]).
  function concrete(schema) {
    const resolved = resolve(schema);
    const variants = resolved.anyOf || resolved.oneOf;
    if (!variants) return resolved;
    const chosen = variants.map(resolve).find((variant) => variant.type !== 'null');
    if (!chosen) return resolved;
    return { ...chosen, description: resolved.description || chosen.description, default: resolved.default ?? chosen.default };
  }

  function typeOf(schema) {
    const type = concrete(schema).type;
    return Array.isArray(type) ? type.find((t) => t !== 'null') : type;
  }

  function localNow() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}:00`;
  }

  // A body to start from: the required keys, plus (except on PATCH, where a key changes the record) the defaulted ones.
  function template(schema, method, depth = 0) {
    const s = concrete(schema);
    if ('example' in s) return s.example;
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if ('default' in s && s.default !== undefined) return s.default;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    if ('const' in s) return s.const;
    const type = typeOf(s) || (s.properties ? 'object' : undefined);
    if (type === 'object') {
      const result = {};
      if (depth > 4) return result;
      const required = new Set(s.required || []);
      for (const [name, property] of Object.entries(s.properties || {})) {
        const wanted = required.has(name) || (method !== 'PATCH' && 'default' in resolve(property));
        if (wanted) result[name] = template(property, method, depth + 1);
      }
      return result;
    }
    if (type === 'array') return [];
    if (type === 'string') return s.format === 'date-time' ? localNow() : '';
    if (type === 'integer' || type === 'number') return 0;
    if (type === 'boolean') return false;
    return null;
  }

  function collectOperations(spec) {
    const operations = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const parameters = [...(item.parameters || []), ...(operation.parameters || [])].map(resolve);
        const group = (operation.tags && operation.tags[0]) || path.split('/')[2] || 'Other';
        operations.push({ id: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation, parameters, group });
      }
    }
    return operations;
  }

  function buildPicker() {
    state.operations = state.spec ? collectOperations(state.spec) : [];
    const select = $('route-select');
    const previous = select.value;
    select.replaceChildren(el('option', { value: '', text: state.operations.length ? 'Choose a route…' : 'No routes known' }));
    const groups = new Map();
    for (const op of state.operations) {
      if (!groups.has(op.group)) groups.set(op.group, el('optgroup', { label: op.group }));
      const summary = op.operation.summary ? ` — ${op.operation.summary}` : '';
      groups.get(op.group).append(el('option', { value: op.id, text: `${op.id}${summary}` }));
    }
    select.append(...groups.values());
    if (previous && state.operations.some((op) => op.id === previous)) select.value = previous;
    filterRoutes();
    renderOperation();
  }

  function filterRoutes() {
    const words = $('route-filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    const select = $('route-select');
    let visible = 0;
    select.querySelectorAll('option[value]:not([value=""])').forEach((option) => {
      const text = option.textContent.toLowerCase();
      option.hidden = !words.every((word) => text.includes(word));
      option.disabled = option.hidden;
      if (!option.hidden) visible += 1;
    });
    select.querySelectorAll('optgroup').forEach((group) => { group.hidden = !group.querySelector('option:not([hidden])'); });
    select.setAttribute('aria-description', `${visible} routes match`);
  }

  function parameterField(parameter, index) {
    const schema = concrete(parameter.schema);
    const id = `param-${index}`;
    const hintId = `${id}-hint`;
    const isArray = typeOf(parameter.schema) === 'array' || parameter.name.endsWith('[]');
    const sentence = (text) => (text && !/[.!?]$/.test(text) ? `${text}.` : text);
    const hints = [sentence(parameter.description || schema.description || '')];
    if (isArray) hints.push('Several values: separate them with commas.');
    if (schema.default !== undefined && !Array.isArray(schema.enum)) hints.push(`Default: ${schema.default}.`);
    const hint = hints.filter(Boolean).join(' ');
    const label = el('label', { for: id }, el('code', { text: parameter.name }),
      parameter.required ? el('span', { className: 'hint', text: ' (required)' }) : null);
    const common = {
      id, name: parameter.name, dataset: { in: parameter.in, array: isArray ? '1' : '' },
      'aria-describedby': hint ? hintId : null, required: Boolean(parameter.required),
    };
    let input;
    if (Array.isArray(schema.enum)) {
      const fallback = schema.default !== undefined ? `(default: ${schema.default})` : '(not set)';
      input = el('select', common, el('option', { value: '', text: fallback }),
        schema.enum.map((value) => el('option', { value: String(value), text: String(value) })));
    } else if (typeOf(parameter.schema) === 'boolean') {
      input = el('select', common, el('option', { value: '', text: '(not set)' }),
        el('option', { value: 'true', text: 'true' }), el('option', { value: 'false', text: 'false' }));
    } else {
      input = el('input', { ...common, type: 'text', spellcheck: 'false', inputmode: ['integer', 'number'].includes(typeOf(parameter.schema)) ? 'numeric' : null });
    }
    return el('div', { className: 'field' }, label, input, hint ? el('p', { className: 'hint', id: hintId, text: hint }) : null);
  }

  function bodySchema(operation) {
    const content = operation.requestBody && resolve(operation.requestBody).content;
    if (!content) return null;
    const json = content['application/json'] || Object.entries(content).find(([type]) => /json/.test(type))?.[1];
    return json ? json.schema || {} : null;
  }

  function fieldsTable(schema) {
    const s = concrete(schema);
    const properties = Object.entries(s.properties || {});
    if (!properties.length) return null;
    const required = new Set(s.required || []);
    return el('details', { className: 'fields' }, el('summary', { text: `Fields (${properties.length})` }),
      el('table', { className: 'fields-table' },
        el('thead', {}, el('tr', {}, ['Name', 'Type', 'Description'].map((text) => el('th', { scope: 'col', text })))),
        el('tbody', {}, properties.map(([name, property]) => {
          const p = concrete(property);
          const type = [typeOf(property) || 'any', resolve(property).anyOf ? '| null' : ''].join(' ').trim();
          return el('tr', {}, el('td', {}, el('code', { text: name }), required.has(name) ? ' (required)' : ''),
            el('td', { text: type }), el('td', { text: p.description || '' }));
        }))));
  }

  function currentOperation() {
    const id = $('route-select').value;
    return state.operations.find((op) => op.id === id) || null;
  }

  function renderOperation() {
    const form = $('operation-form');
    const op = currentOperation();
    $('curl-box').hidden = true;
    if (!op) { form.replaceChildren(); return; }
    const parts = [el('h3', { className: 'operation-title' }, el('span', { className: 'method', text: op.method }), el('code', { text: op.path }))];
    if (op.operation.summary) parts.push(el('p', { className: 'hint', text: op.operation.summary }));
    if (op.operation.description && op.operation.description !== op.operation.summary) {
      parts.push(el('p', { className: 'hint', text: op.operation.description }));
    }
    for (const place of ['path', 'query']) {
      const params = op.parameters.filter((p) => p.in === place);
      if (!params.length) continue;
      parts.push(el('fieldset', {}, el('legend', { text: place === 'path' ? 'Path parameters' : 'Query parameters' }),
        params.map((p) => parameterField(p, op.parameters.indexOf(p)))));
    }
    const schema = bodySchema(op.operation);
    if (schema) {
      const initial = JSON.stringify(template(schema, op.method), null, 2);
      const editor = el('textarea', {
        id: 'body-editor', rows: String(Math.min(16, Math.max(4, initial.split('\n').length + 1))), spellcheck: 'false',
        'aria-describedby': 'body-check body-keys',
      });
      editor.value = initial;
      const check = el('p', { id: 'body-check', className: 'hint', 'aria-live': 'polite' });
      const validate = () => {
        try {
          JSON.parse(editor.value);
          check.textContent = 'Valid JSON.';
          check.className = 'hint ok';
          return true;
        } catch (problem) {
          check.textContent = `Invalid JSON: ${problem.message}`;
          check.className = 'hint error';
          return false;
        }
      };
      editor.addEventListener('input', validate);
      editor.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
      });
      validate();
      parts.push(el('div', { className: 'field' },
        el('label', { for: 'body-editor', text: 'Request body (JSON)' }), editor, check,
        el('p', { id: 'body-keys', className: 'hint', text: 'Ctrl+Enter sends. Prefilled from the schema: required keys and their defaults.' }),
        el('div', { className: 'actions' }, el('button', {
          type: 'button', id: 'body-reset', text: 'Reset body',
          onclick: () => { editor.value = initial; validate(); editor.focus(); },
        })),
        fieldsTable(schema)));
    }
    parts.push(el('p', { id: 'operation-error', className: 'message error', role: 'alert' }));
    parts.push(el('div', { className: 'actions' },
      el('button', { type: 'submit', id: 'send-button', className: 'primary', text: 'Send' }),
      el('button', { type: 'button', id: 'curl-button', text: 'Copy as curl', onclick: () => { const r = buildRequest(); if (r) showCurl(r); } })));
    form.replaceChildren(...parts);
  }

  // The request the operation form describes, or null (with the problem shown) when it is incomplete.
  function buildRequest() {
    const op = currentOperation();
    const error = $('operation-error');
    error.textContent = '';
    if (!op) return null;
    let path = op.path;
    const query = [];
    for (const input of $('operation-form').querySelectorAll('[data-in]')) {
      const value = input.value.trim();
      if (!value) {
        if (input.required) {
          error.textContent = `Enter a value for ${input.name}.`;
          input.focus();
          return null;
        }
        continue;
      }
      if (input.dataset.in === 'path') {
        path = path.replace(`{${input.name}}`, encodeURIComponent(value));
      } else if (input.dataset.array) {
        value.split(',').map((v) => v.trim()).filter(Boolean).forEach((v) => query.push([input.name, v]));
      } else {
        query.push([input.name, value]);
      }
    }
    const editor = $('body-editor');
    let body = null;
    if (editor) {
      try {
        JSON.parse(editor.value);
      } catch (problem) {
        error.textContent = `The body is not valid JSON: ${problem.message}`;
        editor.focus();
        return null;
      }
      body = editor.value;
    }
    return { method: op.method, path, query, body };
  }

  // --- theme --------------------------------------------------------------------------------------

  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    const toggle = $('theme-toggle');
    toggle.setAttribute('aria-pressed', String(theme === 'dark'));
  }

  function initialTheme() {
    const saved = local.get('theme');
    if (saved === 'dark' || saved === 'light') return saved;
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  // --- start ----------------------------------------------------------------------------------------

  function servedBase() {
    // Served by a server (…/explorer): that server, path prefix included. Opened from disk: none.
    if (location.protocol !== 'http:' && location.protocol !== 'https:') return '';
    return new URL('.', location.href).href.replace(/\/+$/, '');
  }

  function start() {
    applyTheme(initialTheme());
    $('theme-toggle').addEventListener('click', () => {
      const theme = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      local.set('theme', theme);
      applyTheme(theme);
    });
    const served = servedBase();
    if (served) {
      $('save-link').href = location.href.split('#')[0];
      $('save-link').hidden = false;
    } else {
      $('doc-link').hidden = true;
    }
    $('base-url').value = served || local.get('base') || '';
    $('username').value = session.get('user') || '';
    $('login-form').addEventListener('submit', logIn);
    $('logout-button').addEventListener('click', () => logOut(true));
    document.querySelectorAll('button[data-path]').forEach((button) => {
      button.addEventListener('click', () => send({ method: 'GET', path: button.dataset.path, query: [] }));
    });
    $('route-filter').addEventListener('input', filterRoutes);
    $('route-select').addEventListener('change', renderOperation);
    $('operation-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const request = buildRequest();
      if (request) send(request);
    });
    $('clear-history').addEventListener('click', () => {
      state.history = [];
      saveHistory();
      renderHistory();
      announce('History cleared');
    });
    loadHistory();
    renderHistory();
    const token = session.get('token');
    if (token) {
      // A reload in the same tab: reconnect with the remembered server and token.
      $('base-url').value = session.get('base') || served;
      $('token').value = token;
      logIn(null);
    }
  }

  start();
})();
