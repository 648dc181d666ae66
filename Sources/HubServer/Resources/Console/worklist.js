// A reader's worklist: the exams of a center the caller's institution hosts, by stage; claim, write the report with
// any critical values, release, and verify. The hub enforces the rules (the claim lease, the two-level signature);
// when it refuses, its problem document is shown as it came.

import {
  api,
  duration,
  fill,
  h,
  hasRole,
  minutesSince,
  patientName,
  problemView,
  startPage,
  table,
  when,
} from './console.js';

const LISTS = [
  ['queue', 'To claim 待领取', null],
  ['claimed', 'Being read 阅片中', ['claimed']],
  ['verification', 'Awaiting verification 待审核', ['awaiting-verification', 'preliminary']],
  ['final', 'Final 已签发', ['final']],
];

let me;
let centerId;
const lists = h('div', { id: 'lists' });
const detail = h('section', { class: 'card detail', id: 'exam-detail', hidden: true });

startPage('worklist.html', async (caller, main) => {
  me = caller;
  main.append(h('h1', {}, 'Worklist 阅片工作列表'));
  if (!hasRole(me, 'reader', 'verifier')) {
    main.append(h('p', { class: 'muted card' }, 'The worklist is for readers and verifiers of a center.'));
    return;
  }
  const centers = ((await api('GET', '/v1/centers?limit=500')).items || []).filter(
    (c) => c.institution_id === me.institution_id,
  );
  if (!centers.length) {
    main.append(h('p', { class: 'muted card' }, `${me.institution_id || 'This token'} hosts no center.`));
    return;
  }
  const params = new URLSearchParams(location.search);
  centerId = centers.some((c) => c.id === params.get('center')) ? params.get('center') : centers[0].id;
  const select = h(
    'select',
    {
      id: 'center-select',
      onchange: async () => {
        centerId = select.value;
        detail.hidden = true;
        await refreshLists();
      },
    },
    centers.map((c) => h('option', { value: c.id, selected: c.id === centerId }, `${c.name} (${c.kind})`)),
  );
  main.append(
    h(
      'div',
      { class: 'toolbar' },
      h('label', {}, 'Center ', select),
      h('button', { type: 'button', id: 'refresh', onclick: () => refreshLists() }, 'Refresh'),
    ),
    h('div', { class: 'split' }, lists, detail),
  );
  await refreshLists();
  if (params.get('exam')) await openExam(params.get('exam'));
});

async function refreshLists() {
  const center = encodeURIComponent(centerId);
  const loaded = await Promise.all(
    LISTS.map(async ([key, , steps]) => {
      if (!steps) return [key, (await api('GET', `/v1/centers/${center}/worklist?limit=200`)).items || []];
      const pages = await Promise.all(
        steps.map((step) => api('GET', `/v1/exams?center_id=${center}&status=${step}&limit=200`)),
      );
      return [key, pages.flatMap((page) => page.items || [])];
    }),
  );
  const byKey = Object.fromEntries(loaded);
  fill(
    lists,
    LISTS.map(([key, title]) => {
      const exams = byKey[key];
      return h(
        'section',
        { class: 'card', 'data-list': key },
        h('h2', {}, `${title} `, h('span', { class: 'count' }, String(exams.length))),
        exams.length
          ? table(
              [
                ['Priority', (e) => h('span', { class: `badge ${e.priority}` }, e.priority)],
                ['Patient', (e) => patientName(e.patient)],
                ['Item', (e) => [e.item_name, h('div', { class: 'muted' }, e.item_code)]],
                ['Clinic', (e) => e.clinic_id],
                ['Waiting', (e) => duration(minutesSince(e.milestones.submitted_at)), 'num'],
                [
                  '',
                  (e) =>
                    h(
                      'button',
                      { type: 'button', class: 'open', 'data-exam-id': e.id, onclick: () => openExam(e.id) },
                      'Open',
                    ),
                ],
              ],
              exams,
            )
          : h('p', { class: 'muted' }, 'Empty.'),
      );
    }),
  );
}

async function openExam(id) {
  detail.hidden = false;
  fill(detail, h('p', { class: 'muted' }, 'Loading…'));
  try {
    renderExam(await api('GET', `/v1/exams/${encodeURIComponent(id)}`));
  } catch (error) {
    fill(detail, problemView(error));
  }
  const params = new URLSearchParams(location.search);
  params.set('center', centerId);
  params.set('exam', id);
  history.replaceState(null, '', `?${params}`);
}

/** Runs one step of the workflow and shows the exam as the hub answers, or the hub's problem. */
async function act(exam, path, body, status) {
  fill(status, h('span', { class: 'muted' }, 'Sending…'));
  try {
    const updated = await api('POST', `/v1/exams/${encodeURIComponent(exam.id)}/${path}`, body);
    renderExam(updated, h('p', { class: 'ok', id: 'action-result' }, `Done: ${path} → ${updated.step}`));
    await refreshLists();
  } catch (error) {
    fill(status, problemView(error));
  }
}

function renderExam(exam, notice) {
  const status = h('div', { class: 'action-status', id: 'action-status' }, notice);
  const p = exam.patient || {};
  fill(
    detail,
    h(
      'h2',
      {},
      `${patientName(p)} · ${exam.item_name} `,
      h('span', { class: `badge step ${exam.step}`, id: 'exam-step' }, exam.step),
    ),
    h(
      'dl',
      { class: 'facts' },
      fact('Exam', h('code', {}, exam.id)),
      fact('Accession', exam.accession_number),
      fact('Patient', [p.name || '', p.sex ? ` · ${p.sex}` : '', p.birth_date ? ` · ${p.birth_date}` : '']),
      fact('Identifiers', (p.identifiers || []).map((i) => `${i.system}|${i.value}`).join(', ')),
      fact('Priority', exam.priority),
      fact('Clinic', `${exam.clinic_id} (${(exam.submitted_by && exam.submitted_by.name) || ''})`),
      fact('Submitted', when(exam.milestones.submitted_at)),
      fact('Clinical information', exam.clinical_info || ''),
      exam.claim ? fact('Claimed by', `${exam.claim.reader.name || exam.claim.reader.practitioner_id} until ${when(exam.claim.until)}`) : null,
      exam.result_id ? fact('Result', h('code', {}, exam.result_id)) : null,
    ),
    actions(exam, status),
    status,
    reports(exam),
    attachments(exam),
  );
}

function fact(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function actions(exam, status) {
  const parts = [];
  const claimExpired = exam.step === 'claimed' && exam.claim && new Date(exam.claim.until) <= new Date();
  if ((exam.step === 'waiting' || claimExpired) && hasRole(me, 'reader')) {
    parts.push(
      h('button', { type: 'button', 'data-action': 'claim', onclick: () => act(exam, 'claim', undefined, status) }, 'Claim 领取'),
    );
  }
  if (exam.step === 'claimed' && !claimExpired && hasRole(me, 'reader')) {
    parts.push(reportForm(exam, status));
  }
  if ((exam.step === 'awaiting-verification' || exam.step === 'preliminary') && hasRole(me, 'verifier')) {
    parts.push(
      h(
        'button',
        { type: 'button', 'data-action': 'verify', onclick: () => act(exam, 'verify', undefined, status) },
        'Verify and sign 审核签发',
      ),
      h(
        'p',
        { class: 'muted' },
        'The second signature must come from another practitioner holding at least attending title (主治医师).',
      ),
    );
  }
  return parts.length ? h('div', { class: 'actions' }, parts) : null;
}

function reportForm(exam, status) {
  const last = exam.reports[exam.reports.length - 1];
  const findings = h('textarea', { id: 'findings', rows: 5, required: true }, last ? last.findings : '');
  const conclusion = h('textarea', { id: 'conclusion', rows: 3, required: true }, last ? last.conclusion : '');
  const critical = h('textarea', {
    id: 'critical-values',
    rows: 2,
    placeholder: 'One critical value a line, e.g. 大量气胸',
  });
  return h(
    'form',
    {
      id: 'report-form',
      onsubmit: (event) => {
        event.preventDefault();
        const criticalValues = critical.value
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .map((description) => ({ description }));
        act(
          exam,
          'report',
          { findings: findings.value, conclusion: conclusion.value, critical_values: criticalValues },
          status,
        );
      },
    },
    h('label', {}, 'Findings 检查所见', findings),
    h('label', {}, 'Conclusion 诊断意见', conclusion),
    h('label', {}, 'Critical values 危急值', critical),
    h(
      'div',
      {},
      h('button', { type: 'submit', 'data-action': 'report' }, 'Submit report 提交报告'),
      ' ',
      h(
        'button',
        { type: 'button', class: 'secondary', 'data-action': 'release', onclick: () => act(exam, 'release', undefined, status) },
        'Release 放回',
      ),
    ),
  );
}

function reports(exam) {
  if (!exam.reports.length) return null;
  return h(
    'div',
    { class: 'reports' },
    h('h3', {}, 'Report 报告'),
    [...exam.reports].reverse().map((r) =>
      h(
        'article',
        { class: 'report', 'data-version': r.version },
        h('h4', {}, `Version ${r.version} · ${r.status}`),
        h('p', {}, h('strong', {}, 'Findings: '), r.findings),
        h('p', {}, h('strong', {}, 'Conclusion: '), r.conclusion),
        r.critical_values.length
          ? h('p', { class: 'late' }, h('strong', {}, 'Critical values: '), r.critical_values.map((c) => c.description).join('; '))
          : null,
        h(
          'p',
          { class: 'muted' },
          `Written by ${signer(r.author)} ${when(r.authored_at)}`,
          r.verifier ? ` · verified by ${signer(r.verifier)} ${when(r.verified_at)}` : '',
          r.reason ? ` · ${r.reason}` : '',
        ),
      ),
    ),
  );
}

function signer(s) {
  return s ? `${s.name || s.practitioner_id}${s.title ? ` (${s.title})` : ''}` : '';
}

function attachments(exam) {
  const files = exam.attachments || [];
  return h(
    'div',
    { class: 'attachments' },
    h('h3', {}, `Attachments 附件 (${files.length})`),
    files.map((file) =>
      h(
        'article',
        { class: 'attachment', 'data-sha256': file.sha256 },
        h(
          'p',
          {},
          h('strong', {}, file.kind),
          ` · ${file.media_type} · ${(file.size / 1024).toFixed(1)} KiB · `,
          h('code', {}, file.sha256.slice(0, 12)),
          ` · ${when(file.uploaded_at)}`,
        ),
        file.patient_mismatch ? h('p', { class: 'late' }, `Patient mismatch: ${file.patient_mismatch}`) : null,
        file.dicom
          ? table(
              [
                ['DICOM attribute', ([name]) => h('code', {}, name)],
                ['Value', ([, value]) => value],
              ],
              Object.entries(file.dicom).sort(([a], [b]) => a.localeCompare(b)),
              { class: 'dicom-tags' },
            )
          : null,
      ),
    ),
  );
}
