// Statistics for alliance managers and regulators: the recognition rate over time and the money saved by category,
// drawn as SVG here, filterable by institution and period, with the figures as CSV.

import { api, fill, h, hasRole, money, problemView, startPage, table } from './console.js';

const CATEGORIES = ['DR', 'CT', 'MR', 'US', 'ECG', 'pathology', 'lab'];
const REASONS = ['1', '2', '3', '4', '5', '6'];
const SVG = 'http://www.w3.org/2000/svg';
const MAX_BUCKETS = 62;

const output = h('div', { id: 'stats-output' });

startPage('stats.html', async (me, main) => {
  main.append(h('h1', {}, 'Statistics 互认统计'));
  if (!hasRole(me, 'auditor')) {
    main.append(h('p', { class: 'muted card' }, 'Statistics are shown to auditors (auditor role).'));
    return;
  }
  const institutions = (await api('GET', '/v1/institutions?limit=500')).items || [];
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const institution = h(
    'select',
    { id: 'institution' },
    h('option', { value: '' }, 'All institutions 全部机构'),
    institutions.map((i) =>
      h('option', { value: i.id, selected: i.id === params.get('institution_id') }, `${i.name} (${i.id})`),
    ),
  );
  const from = h('input', { type: 'date', id: 'from', value: params.get('from') || isoDate(addDays(today, -13)) });
  const to = h('input', { type: 'date', id: 'to', value: params.get('to') || isoDate(today) });
  const granularity = h(
    'select',
    { id: 'granularity' },
    [
      ['day', 'by day 按日'],
      ['week', 'by week 按周'],
      ['month', 'by month 按月'],
    ].map(([value, label]) => h('option', { value, selected: value === (params.get('by') || 'day') }, label)),
  );
  const form = h(
    'form',
    {
      id: 'stats-form',
      class: 'card toolbar',
      onsubmit: async (event) => {
        event.preventDefault();
        await load(institution.value, from.value, to.value, granularity.value);
      },
    },
    h('label', {}, 'Institution ', institution),
    h('label', {}, 'From ', from),
    h('label', {}, 'To (included) ', to),
    h('label', {}, 'Period ', granularity),
    h('button', { type: 'submit', id: 'apply' }, 'Show 查询'),
  );
  main.append(form, output);
  await load(institution.value, from.value, to.value, granularity.value);
});

async function load(institutionId, fromDate, toDate, granularity) {
  fill(output, h('p', { class: 'muted' }, 'Loading…'));
  const start = parseDate(fromDate);
  const end = addDays(parseDate(toDate), 1);
  if (!start || !end || start >= end) {
    fill(output, h('div', { class: 'problem', role: 'alert' }, 'Choose a start date before the end date.'));
    return;
  }
  const buckets = [];
  for (let cursor = start; cursor < end && buckets.length < MAX_BUCKETS; ) {
    const next = step(cursor, granularity);
    buckets.push([cursor, next < end ? next : end]);
    cursor = next;
  }
  const query = (from, to) => {
    const q = new URLSearchParams({ from: isoDate(from), to: isoDate(to) });
    if (institutionId) q.set('institution_id', institutionId);
    return `/v1/recognition/stats?${q}`;
  };
  let total;
  let series;
  try {
    [total, series] = await Promise.all([
      api('GET', query(start, end)),
      Promise.all(buckets.map(([from, to]) => api('GET', query(from, to)).then((stats) => ({ from, to, stats })))),
    ]);
  } catch (error) {
    fill(output, problemView(error));
    return;
  }
  const csv = toCSV(series, total);
  fill(
    output,
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'cards' }, [
        summary('Checks 查询', total.checks),
        summary('Reminders 提醒', total.reminders),
        summary('Adoptions 采纳', total.adoptions),
        summary('Re-tests 重新检查', total.retests),
        summary('Recognition rate 互认率', rate(total.recognition_rate)),
        summary('Cross-institution 跨机构调阅', total.cross_institution_retrievals),
        summary('Saved 节约费用', money(total.savings)),
      ]),
      h(
        'p',
        {},
        h(
          'a',
          {
            id: 'csv-export',
            class: 'button',
            download: `recognition-stats-${fromDate}-${toDate}.csv`,
            href: `data:text/csv;charset=utf-8,${encodeURIComponent(`\ufeff${csv}`)}`,
          },
          'Export CSV 导出',
        ),
      ),
    ),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Recognition rate over time 互认率趋势'), rateChart(series)),
      h('section', { class: 'card' }, h('h2', {}, 'Money saved by category 节约费用（按类别）'), savingsChart(total)),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'By period 分期数据'),
      table(
        [
          ['Period', (r) => label(r.from, r.to)],
          ['Checks', (r) => r.stats.checks, 'num'],
          ['Reminders', (r) => r.stats.reminders, 'num'],
          ['Adoptions', (r) => r.stats.adoptions, 'num'],
          ['Re-tests', (r) => r.stats.retests, 'num'],
          ['Rate', (r) => rate(r.stats.recognition_rate), 'num'],
          ['Saved', (r) => money(r.stats.savings), 'num'],
        ],
        series,
        { id: 'stats-table' },
      ),
      Object.keys(total.retests_by_reason || {}).length
        ? h(
            'p',
            { class: 'muted' },
            'Re-tests by reason: ',
            Object.entries(total.retests_by_reason)
              .map(([code, n]) => `${code}: ${n}`)
              .join(', '),
          )
        : null,
    ),
  );
}

function summary(title, value) {
  return h('div', { class: 'summary' }, h('div', { class: 'muted' }, title), h('div', { class: 'figure' }, String(value)));
}

function rate(value) {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`;
}

function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A line of the rate per period on a 0–100 % axis; periods without reminders leave a gap. */
function rateChart(series) {
  const width = 640;
  const height = 260;
  const m = { left: 44, right: 16, top: 14, bottom: 44 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const x = (i) => m.left + (series.length === 1 ? plotW / 2 : (plotW * i) / (series.length - 1));
  const y = (v) => m.top + plotH * (1 - v);
  const parts = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      svg('line', { x1: m.left, x2: width - m.right, y1: y(tick), y2: y(tick), class: 'grid-line' }),
      svg('text', { x: m.left - 6, y: y(tick) + 4, 'text-anchor': 'end', class: 'axis' }, `${tick * 100}%`),
    );
  }
  const every = Math.max(1, Math.ceil(series.length / 8));
  series.forEach((r, i) => {
    if (i % every === 0 || i === series.length - 1) {
      parts.push(svg('text', { x: x(i), y: height - m.bottom + 18, 'text-anchor': 'middle', class: 'axis' }, shortLabel(r.from)));
    }
  });
  let path = '';
  let drawing = false;
  series.forEach((r, i) => {
    const v = r.stats.recognition_rate;
    if (v === null || v === undefined) {
      drawing = false;
      return;
    }
    path += `${drawing ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    drawing = true;
  });
  if (path) parts.push(svg('path', { d: path, class: 'rate-line', fill: 'none' }));
  series.forEach((r, i) => {
    const v = r.stats.recognition_rate;
    if (v === null || v === undefined) return;
    parts.push(
      svg(
        'circle',
        { cx: x(i), cy: y(v), r: 4, class: 'rate-point' },
        svg('title', {}, `${label(r.from, r.to)}: ${rate(v)} (${r.stats.adoptions}/${r.stats.reminders})`),
      ),
    );
  });
  if (!path) {
    parts.push(
      svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis' }, 'No reminders in this period'),
    );
  }
  parts.push(svg('text', { x: m.left, y: height - 6, class: 'axis' }, 'Adoptions ÷ reminders per period'));
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, id: 'rate-chart', role: 'img', 'aria-label': 'Recognition rate over time' }, parts);
}

/** Horizontal bars of the money saved per category over the whole period. */
function savingsChart(total) {
  const width = 640;
  const row = 30;
  const m = { left: 90, right: 110, top: 10 };
  const height = m.top * 2 + row * CATEGORIES.length;
  const values = CATEGORIES.map((c) => Number((total.savings_by_category || {})[c] || 0));
  const max = Math.max(...values, 1);
  const parts = [];
  CATEGORIES.forEach((category, i) => {
    const y = m.top + i * row;
    const w = ((width - m.left - m.right) * values[i]) / max;
    parts.push(
      svg('text', { x: m.left - 8, y: y + row / 2 + 4, 'text-anchor': 'end', class: 'axis' }, category),
      svg('rect', { x: m.left, y: y + 5, width: Math.max(w, values[i] > 0 ? 2 : 0), height: row - 10, class: `bar ${category}` }),
      svg('text', { x: m.left + w + 6, y: y + row / 2 + 4, class: 'value' }, money(values[i])),
    );
  });
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, id: 'savings-chart', role: 'img', 'aria-label': 'Money saved by category' }, parts);
}

/** The figures per period and the total, one line each, for spreadsheets. */
function toCSV(series, total) {
  const header = [
    'period_start',
    'period_end',
    'checks',
    'reminders',
    'adoptions',
    'retests',
    'recognition_rate',
    'cross_institution_retrievals',
    'savings',
    ...CATEGORIES.map((c) => `savings_${c}`),
    ...REASONS.map((r) => `retests_reason_${r}`),
  ];
  const line = (from, to, s) =>
    [
      from,
      to,
      s.checks,
      s.reminders,
      s.adoptions,
      s.retests,
      s.recognition_rate === null || s.recognition_rate === undefined ? '' : s.recognition_rate.toFixed(4),
      s.cross_institution_retrievals,
      Number(s.savings).toFixed(2),
      ...CATEGORIES.map((c) => Number((s.savings_by_category || {})[c] || 0).toFixed(2)),
      ...REASONS.map((r) => (s.retests_by_reason || {})[r] || 0),
    ].join(',');
  const lines = [header.join(',')];
  for (const r of series) lines.push(line(isoDate(r.from), isoDate(r.to), r.stats));
  lines.push(line('total', '', total));
  return `${lines.join('\r\n')}\r\n`;
}

function parseDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  return match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
}

function addDays(date, days) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

function step(date, granularity) {
  if (granularity === 'month') return new Date(date.getFullYear(), date.getMonth() + 1, 1);
  return addDays(date, granularity === 'week' ? 7 : 1);
}

function isoDate(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function shortLabel(date) {
  return `${date.getMonth() + 1}/${date.getDate()}`;
}

function label(from, to) {
  const last = addDays(to, -1);
  return isoDate(from) === isoDate(last) ? isoDate(from) : `${isoDate(from)} – ${isoDate(last)}`;
}
