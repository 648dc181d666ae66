// What every console page shares: the token, calls to the hub's public API, problem documents, the page frame and a
// small element builder. No framework: the pages are plain DOM.

const TOKEN_KEY = 'alliancehub.console.token';

/** The pasted bearer token, kept for this browser tab only. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** An answer that was not 2xx, with the hub's problem document when it sent one. */
export class ApiError extends Error {
  constructor(status, problem, text) {
    super((problem && (problem.detail || problem.title)) || text || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls the hub's API as any client does: JSON in, JSON out, `Authorization: Bearer`. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, data, text);
  return data;
}

/** Builds an element: `h('td', {class: 'num'}, 'text', child)`; `on*` attributes become listeners. */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name in element && typeof value !== 'string') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A problem document shown as people read it: what went wrong, the stable code, and each offending field. */
export function problemView(error) {
  if (!(error instanceof ApiError)) {
    return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, 'Could not reach the hub: '), error.message);
  }
  const p = error.problem || {};
  return h(
    'div',
    { class: 'problem', role: 'alert', 'data-code': p.code || '' },
    h('strong', {}, `${p.title || 'Error'} (${error.status})`),
    p.code ? h('code', { class: 'problem-code' }, p.code) : null,
    h('p', {}, p.detail || error.message),
    Array.isArray(p.errors) && p.errors.length
      ? h('ul', {}, p.errors.map((e) => h('li', {}, h('code', {}, e.field), ' ', e.detail)))
      : null,
    p.request_id ? h('p', { class: 'muted' }, `request ${p.request_id}`) : null,
  );
}

/** A note for a section the token may not see: a 403 is expected, not a failure. */
export function unavailableView(error, what) {
  if (error instanceof ApiError && (error.status === 403 || error.status === 401)) {
    return h('p', { class: 'muted' }, `${what}: ${(error.problem && error.problem.detail) || 'not allowed for this token'}`);
  }
  return problemView(error);
}

export function hasRole(me, ...roles) {
  return roles.some((role) => (me.roles || []).includes(role));
}

/** RFC 3339 to a short local date and time. */
export function when(timestamp) {
  if (!timestamp) return '';
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return timestamp;
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function minutesSince(timestamp, now = Date.now()) {
  return Math.max(0, Math.round((now - new Date(timestamp).getTime()) / 60000));
}

export function duration(minutes) {
  if (minutes === undefined || minutes === null) return '—';
  if (minutes < 120) return `${Math.round(minutes)} min`;
  if (minutes < 48 * 60) return `${(minutes / 60).toFixed(1)} h`;
  return `${(minutes / 1440).toFixed(1)} d`;
}

export function money(value) {
  return `¥${Number(value || 0).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function patientName(patient) {
  return (patient && patient.name) || (patient && patient.identifiers && patient.identifiers[0].value) || '';
}

const PAGES = [
  ['index.html', 'Overview 总览'],
  ['worklist.html', 'Worklist 阅片工作列表'],
  ['recognition.html', 'Recognition 结果互认'],
  ['stats.html', 'Statistics 统计'],
];

/**
 * Lays out the page frame (navigation, who is signed in, the token form) and runs `render(me, main)` once a token
 * is known and the hub accepts it. Sets `document.body.dataset.state` to `ready` or `error` when done, so that
 * people and tests can tell a finished page from a loading one.
 */
export async function startPage(pageFile, render) {
  const main = document.getElementById('main');
  const nav = h(
    'nav',
    {},
    PAGES.map(([file, label]) => h('a', { href: `/console/${file}`, class: file === pageFile ? 'current' : '' }, label)),
  );
  const who = h('div', { class: 'who', id: 'who' });
  const header = h(
    'header',
    {},
    h('a', { class: 'brand', href: '/console/' }, 'AllianceHub 医联体协同平台'),
    nav,
    who,
  );
  document.body.prepend(header);
  document.body.dataset.state = 'loading';

  if (!token()) {
    fill(main, tokenForm());
    document.body.dataset.state = 'ready';
    return;
  }
  let me;
  try {
    me = await api('GET', '/v1/me');
  } catch (error) {
    fill(main, problemView(error), tokenForm());
    document.body.dataset.state = 'error';
    return;
  }
  fill(
    who,
    h('span', {}, me.name || me.token_id),
    me.institution_id ? h('span', { class: 'muted' }, ` @ ${me.institution_id}`) : null,
    h('span', { class: 'roles' }, (me.roles || []).join(' · ')),
    h(
      'button',
      {
        type: 'button',
        id: 'sign-out',
        onclick: () => {
          sessionStorage.removeItem(TOKEN_KEY);
          location.reload();
        },
      },
      'Forget token',
    ),
  );
  try {
    await render(me, main);
    document.body.dataset.state = 'ready';
  } catch (error) {
    main.append(problemView(error));
    document.body.dataset.state = 'error';
  }
}

function tokenForm() {
  const input = h('input', {
    type: 'password',
    id: 'token-input',
    autocomplete: 'off',
    placeholder: 'hub_…',
    required: true,
    size: 60,
  });
  return h(
    'form',
    {
      id: 'token-form',
      class: 'card',
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        location.reload();
      },
    },
    h('h2', {}, 'Sign in with a token'),
    h(
      'p',
      { class: 'muted' },
      'Paste a bearer token issued by the hub (hubctl token issue). It is kept in this tab only and sent with every request to the hub.',
    ),
    h('label', {}, 'Token ', input),
    ' ',
    h('button', { type: 'submit' }, 'Use token'),
  );
}

/** A section that loads on its own: one failing part never blanks the page. */
export async function section(parent, title, load) {
  const body = h('div', { class: 'section-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const element = h('section', { class: 'card' }, h('h2', {}, title), body);
  parent.append(element);
  try {
    fill(body, await load());
  } catch (error) {
    fill(body, problemView(error));
  }
  return element;
}

/** A table from column definitions `[heading, (row) => cell, className?]`. */
export function table(columns, rows, attributes = {}) {
  return h(
    'table',
    attributes,
    h('thead', {}, h('tr', {}, columns.map(([heading, , className]) => h('th', { class: className }, heading)))),
    h(
      'tbody',
      {},
      rows.map((row) => h('tr', {}, columns.map(([, cell, className]) => h('td', { class: className }, cell(row))))),
    ),
  );
}
