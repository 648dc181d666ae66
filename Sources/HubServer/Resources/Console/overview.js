// Overview: the centers by kind with their open work against turnaround targets, critical values still waiting for
// acknowledgement, the peer hubs' health and the outbox's dead letters. Each part asks only what the token's roles
// may see, and says so when a part is not for this token.

import {
  api,
  duration,
  fill,
  h,
  hasRole,
  minutesSince,
  patientName,
  section,
  startPage,
  table,
  unavailableView,
  when,
} from './console.js';

const KINDS = [
  ['imaging', 'Imaging 影像'],
  ['ecg', 'ECG 心电'],
  ['pathology', 'Pathology 病理'],
  ['lab', 'Laboratory 检验'],
];
const OPEN_STEPS = ['waiting', 'claimed', 'awaiting-verification', 'preliminary'];
const PRIORITY_ORDER = ['stat', 'asap', 'urgent', 'routine'];

startPage('index.html', async (me, main) => {
  main.append(h('h1', {}, 'Overview 总览'));
  await Promise.all([
    section(main, 'Centers and open work 中心与待办', () => centers(me)),
    section(main, 'Unacknowledged critical values 未确认危急值', () => criticalValues(me)),
    section(main, 'Peer hubs 联邦节点', () => peers(me)),
    section(main, 'Outbox dead letters 投递失败', () => deadLetters(me)),
  ]);
});

async function centers(me) {
  const list = await api('GET', '/v1/centers?limit=500');
  const centers = list.items || [];
  if (!centers.length) return h('p', { class: 'muted' }, 'No centers are registered yet.');
  const seesTurnaround = hasRole(me, 'admin', 'auditor');
  const details = await Promise.all(
    centers.map(async (center) => {
      const own = center.institution_id === me.institution_id;
      const [open, turnaround] = await Promise.all([
        own && hasRole(me, 'reader', 'verifier') ? openWork(center) : null,
        own || seesTurnaround ? api('GET', `/v1/centers/${encodeURIComponent(center.id)}/turnaround`).catch(() => null) : null,
      ]);
      return { center, open, turnaround };
    }),
  );
  const parts = [];
  for (const [kind, label] of KINDS) {
    const rows = details.filter((d) => d.center.kind === kind);
    if (!rows.length) continue;
    parts.push(
      h('h3', {}, label),
      table(
        [
          ['Center', (d) => [h('strong', {}, d.center.name), h('div', { class: 'muted' }, d.center.id)]],
          ['Host', (d) => d.center.institution_id],
          ['Status', (d) => h('span', { class: `badge ${d.center.status}` }, d.center.status)],
          ['Open work', (d) => (d.open ? openSummary(d.open) : '—'), 'num'],
          ['Oldest waiting vs target', (d) => (d.open ? oldest(d) : '—')],
          ['Turnaround (p50 to verified / target)', (d) => turnaroundSummary(d.turnaround)],
        ],
        rows,
        { class: 'centers', 'data-kind': kind },
      ),
    );
  }
  return parts;
}

/** The center's exams in each open step; the hub filters, so finished work never crowds out open work. */
async function openWork(center) {
  const id = encodeURIComponent(center.id);
  const pages = await Promise.all(
    OPEN_STEPS.map((step) => api('GET', `/v1/exams?center_id=${id}&status=${step}&limit=500`)),
  );
  return pages.flatMap((page) => page.items || []);
}

function openSummary(open) {
  const counts = {};
  for (const exam of open) counts[exam.step] = (counts[exam.step] || 0) + 1;
  return [
    h('strong', { class: 'open-count' }, String(open.length)),
    h('div', { class: 'muted' }, Object.entries(counts).map(([step, n]) => `${step} ${n}`).join(', ')),
  ];
}

function oldest({ center, open }) {
  if (!open.length) return h('span', { class: 'muted' }, 'none waiting');
  const targets = center.turnaround_minutes || {};
  let worst = null;
  for (const exam of open) {
    const waited = minutesSince(exam.milestones.submitted_at);
    const target = targets[exam.priority];
    const ratio = target ? waited / target : 0;
    if (!worst || ratio > worst.ratio || (ratio === worst.ratio && waited > worst.waited)) {
      worst = { exam, waited, target, ratio };
    }
  }
  const late = worst.target && worst.waited > worst.target;
  return h(
    'span',
    { class: late ? 'late' : '' },
    `${duration(worst.waited)} / ${worst.target ? duration(worst.target) : 'no target'} (${worst.exam.priority}, ${patientName(worst.exam.patient)})`,
  );
}

function turnaroundSummary(turnaround) {
  if (!turnaround) return '—';
  const rows = [...turnaround.priorities]
    .sort((a, b) => PRIORITY_ORDER.indexOf(a.priority) - PRIORITY_ORDER.indexOf(b.priority))
    .filter((p) => p.submitted > 0 || p.open_past_target > 0);
  if (!rows.length) return h('span', { class: 'muted' }, 'no exams in 30 days');
  return h(
    'ul',
    { class: 'plain' },
    rows.map((p) => {
      const median = p.submitted_to_verified_minutes && p.submitted_to_verified_minutes.p50;
      const late = p.target_minutes && median !== undefined && median > p.target_minutes;
      return h(
        'li',
        { class: late || p.open_past_target ? 'late' : '' },
        `${p.priority}: ${duration(median)} / ${p.target_minutes ? duration(p.target_minutes) : 'no target'}`,
        p.open_past_target ? ` · ${p.open_past_target} open past target` : '',
      );
    }),
  );
}

async function criticalValues(me) {
  if (!hasRole(me, 'clinic', 'reader', 'verifier')) {
    return h('p', { class: 'muted' }, 'Critical values are shown to clinic staff, readers and verifiers.');
  }
  try {
    const list = await api('GET', '/v1/critical-values?acknowledged=false&limit=100');
    const items = list.items || [];
    if (!items.length) return h('p', { class: 'ok' }, 'None waiting.');
    return table(
      [
        ['Patient', (n) => n.patient_name || ''],
        ['Item', (n) => n.item_code],
        ['Finding', (n) => n.findings.map((f) => f.description).join('; ')],
        ['Clinic', (n) => n.clinic_id],
        ['Flagged', (n) => when(n.flagged_at)],
        [
          'Acknowledge by',
          (n) => h('span', { class: new Date(n.ack_due_at) < new Date() ? 'late' : '' }, when(n.ack_due_at)),
        ],
        ['Escalated', (n) => (n.escalated_at ? when(n.escalated_at) : '')],
      ],
      items,
      { id: 'critical-values' },
    );
  } catch (error) {
    return unavailableView(error, 'Critical values');
  }
}

async function peers(me) {
  if (!hasRole(me, 'admin')) return h('p', { class: 'muted' }, 'Peer health is shown to hub operators (admin role).');
  let list;
  try {
    list = await api('GET', '/v1/peers');
  } catch (error) {
    return unavailableView(error, 'Peer health');
  }
  const items = list.items || [];
  if (!items.length) return h('p', { class: 'muted' }, 'This hub has no peers.');
  const statuses = await Promise.all(
    items.map((peer) => api('GET', `/v1/peers/${encodeURIComponent(peer.id)}/status`).catch(() => ({ peer }))),
  );
  return table(
    [
      ['Peer', (s) => [h('strong', {}, s.peer.id), h('div', { class: 'muted' }, s.peer.url)]],
      ['Region', (s) => s.peer.region],
      [
        'Reachable',
        (s) =>
          s.reachable === undefined
            ? h('span', { class: 'muted' }, 'not yet asked')
            : s.reachable
              ? h('span', { class: 'ok' }, 'yes')
              : [
                  h('span', { class: 'late' }, 'no'),
                  h('span', { class: 'error-detail', title: s.last_error || '' }, shorten(s.last_error, 90)),
                ],
      ],
      ['Latency', (s) => (s.recent_latency_ms !== undefined ? `${s.recent_latency_ms} ms` : '—'), 'num'],
      ['Centers', (s) => (s.centers !== undefined ? s.centers : '—'), 'num'],
      ['Backlog', (s) => (s.outbox_backlog !== undefined ? s.outbox_backlog : '—'), 'num'],
      ['Dead', (s) => (s.outbox_dead !== undefined ? s.outbox_dead : '—'), 'num'],
      ['Circuit', (s) => s.circuit || '—'],
      ['Directory', (s) => when(s.last_directory_refresh)],
    ],
    statuses,
    { id: 'peers' },
  );
}

async function deadLetters(me) {
  if (!hasRole(me, 'admin')) return h('p', { class: 'muted' }, 'The outbox is shown to hub operators (admin role).');
  let list;
  try {
    list = await api('GET', '/v1/outbox?state=dead&limit=100');
  } catch (error) {
    return unavailableView(error, 'Outbox');
  }
  const items = list.items || [];
  if (!items.length) return h('p', { class: 'ok' }, 'No dead letters.');
  const body = h('div', {});
  return fill(
    body,
    table(
      [
        ['Delivery', (d) => h('code', {}, d.id)],
        ['Destination', (d) => d.destination],
        ['Event', (d) => d.kind],
        ['Attempts', (d) => `${d.attempts}/${d.max_attempts}`, 'num'],
        [
          'Last error',
          (d) =>
            h('span', { class: 'error-detail', title: d.last_error || '' }, [
              d.last_status ? `HTTP ${d.last_status} ` : '',
              shorten(d.last_error, 90),
            ]),
        ],
        ['Updated', (d) => when(d.updated_at)],
      ],
      items,
      { id: 'dead-letters' },
    ),
  );
}

function shorten(text, length) {
  if (!text) return '';
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
