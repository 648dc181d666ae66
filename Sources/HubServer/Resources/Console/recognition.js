// Recognition: before ordering a test again, a clinician asks which prior results of the patient can be recognized,
// here and at the peer hubs, sees every candidate with the reasons it fails, and records adopt or re-test.

import { api, fill, h, hasRole, money, problemView, startPage, table, when } from './console.js';

/** The six national re-test reasons (国家卫生健康委等七部门《检查检验结果互认管理办法》). */
const RETEST_REASONS = [
  [1, '1 病情变化 — the condition changed and the result no longer reflects it'],
  [2, '2 指标变化快 — the value changes fast as the disease evolves'],
  [3, '3 重大诊疗前 — critical before a major intervention (surgery, transfusion)'],
  [4, '4 急诊、急救 — emergency or rescue'],
  [5, '5 司法、伤残、病退鉴定 — forensic, disability or sick-retirement appraisal'],
  [6, '6 其他 — other (a note is required)'],
];

const result = h('div', { id: 'check-result' });

startPage('recognition.html', async (me, main) => {
  main.append(h('h1', {}, 'Recognition 检查检验结果互认'));
  if (!hasRole(me, 'clinician')) {
    main.append(h('p', { class: 'muted card' }, 'Recognition checks are made by clinicians of an institution.'));
  }
  const params = new URLSearchParams(location.search);
  const patient = h('input', {
    id: 'patient',
    required: true,
    size: 40,
    placeholder: 'cn-resident-id|42010219800101108X',
    value: params.get('patient') || '',
  });
  const item = h('input', { id: 'item-code', required: true, size: 16, placeholder: 'CT-CHEST or 2823-3', value: params.get('item') || '' });
  const department = h('input', { id: 'department', size: 16, placeholder: '呼吸内科' });
  const emergency = h('input', { type: 'checkbox', id: 'emergency' });
  const federated = h('input', { type: 'checkbox', id: 'federated', checked: true });
  const form = h(
    'form',
    {
      id: 'check-form',
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        fill(result, h('p', { class: 'muted' }, 'Asking…'));
        const body = {
          patient: patient.value.trim(),
          item_code: item.value.trim(),
          emergency: emergency.checked,
          federated: federated.checked,
        };
        if (department.value.trim()) body.department = department.value.trim();
        try {
          renderCheck(await api('POST', '/v1/recognition/checks', body));
        } catch (error) {
          fill(result, problemView(error));
        }
      },
    },
    h('h2', {}, 'Check a patient and item 查询可互认结果'),
    h(
      'div',
      { class: 'row' },
      h('label', {}, 'Patient (system|value, or a resident ID) ', patient),
      h('label', {}, 'Item code ', item),
      h('label', {}, 'Department ', department),
    ),
    h(
      'div',
      { class: 'row' },
      h('label', {}, emergency, ' Emergency 急诊'),
      h('label', {}, federated, ' Ask peer hubs too 联邦查询'),
      h('button', { type: 'submit', id: 'run-check' }, 'Check 查询'),
    ),
  );
  main.append(form, result);
  if (params.get('check')) {
    try {
      renderCheck(await api('GET', `/v1/recognition/checks/${encodeURIComponent(params.get('check'))}`));
    } catch (error) {
      fill(result, problemView(error));
    }
  }
});

function renderCheck(check) {
  const recognizable = check.candidates.filter((c) => c.recognizable);
  fill(
    result,
    h(
      'section',
      { class: 'card', 'data-check-id': check.id },
      h('h2', {}, `Check `, h('code', {}, check.id)),
      h(
        'p',
        {},
        `${check.patient.system}|${check.patient.value} · item ${check.item_code}`,
        check.requested_code !== check.item_code ? ` (asked as ${check.requested_code})` : '',
        ` · catalog ${check.catalog_version || 'none in force'} · ${when(check.created_at)}`,
        check.emergency ? h('strong', { class: 'late' }, ' · emergency') : '',
      ),
      h(
        'p',
        { class: recognizable.length ? 'ok' : 'muted', id: 'check-summary' },
        `${check.candidates.length} prior result(s), ${recognizable.length} recognizable.`,
      ),
      check.candidates.length
        ? table(
            [
              [
                'Recognizable',
                (c) => h('span', { class: `badge ${c.recognizable ? 'yes' : 'no'}` }, c.recognizable ? '✓ 可互认' : '✗ 不可互认'),
              ],
              ['Result', (c) => h('code', {}, c.result_id)],
              ['Hub', (c) => h('span', { class: 'hub-id' }, c.hub_id)],
              ['Performed by', (c) => c.institution_id],
              ['Performed', (c) => when(c.performed_at)],
              ['Report', (c) => c.report_status],
              ['Mark', (c) => c.mark || ''],
              ['Scope', (c) => c.scope || ''],
              ['Valid until', (c) => when(c.expires_at)],
              ['Price', (c) => (c.price !== undefined ? money(c.price) : ''), 'num'],
              [
                'Reasons',
                (c) =>
                  c.reasons.length
                    ? h('ul', { class: 'plain reasons' }, c.reasons.map((r) => h('li', {}, h('code', {}, r.code), ' ', r.detail)))
                    : '',
              ],
            ],
            check.candidates,
            { id: 'candidates' },
          )
        : h('p', { class: 'muted' }, 'No prior result of this patient for this item.'),
      h('h3', {}, 'Peer hubs 联邦节点'),
      check.peers.length
        ? table(
            [
              ['Hub', (p) => p.hub_id],
              ['Status', (p) => h('span', { class: `badge ${p.status}` }, p.status)],
              ['Latency', (p) => (p.latency_ms !== undefined ? `${p.latency_ms} ms` : ''), 'num'],
              ['Results', (p) => (p.results !== undefined ? p.results : ''), 'num'],
              ['Via', (p) => p.via || ''],
              ['Detail', (p) => p.detail || ''],
            ],
            check.peers,
            { id: 'peer-outcomes' },
          )
        : h('p', { class: 'muted' }, 'No peer hub was asked.'),
    ),
    decisionForm(check, recognizable),
  );
}

function decisionForm(check, recognizable) {
  const outcome = h('div', { id: 'decision-result' });
  const choices = recognizable.map((c, index) =>
    h(
      'label',
      { class: 'choice' },
      h('input', { type: 'radio', name: 'decision', value: `adopt:${c.result_id}`, checked: index === 0 }),
      ` Adopt 采纳 ${c.result_id} (${c.hub_id}, ${when(c.performed_at)})`,
    ),
  );
  const reason = h(
    'select',
    { id: 'reason-code' },
    RETEST_REASONS.map(([code, label]) => h('option', { value: String(code) }, label)),
  );
  const note = h('input', { id: 'note', size: 50, placeholder: 'Note (needed for reason 6)' });
  choices.push(
    h(
      'label',
      { class: 'choice' },
      h('input', { type: 'radio', name: 'decision', value: 'retest', checked: recognizable.length === 0 }),
      ' Re-test 重新检查, because ',
      reason,
      ' ',
      note,
    ),
  );
  return h(
    'form',
    {
      id: 'decision-form',
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        const picked = new FormData(event.target).get('decision');
        const body = { check_id: check.id };
        if (picked && picked.startsWith('adopt:')) {
          body.decision = 'adopt';
          body.result_id = picked.slice('adopt:'.length);
        } else {
          body.decision = 'retest';
          body.reason_code = Number(reason.value);
          if (note.value.trim()) body.note = note.value.trim();
        }
        try {
          const decision = await api('POST', '/v1/recognition/decisions', body);
          fill(
            outcome,
            h(
              'p',
              { class: 'ok', id: 'decision-recorded' },
              `Recorded ${decision.id}: ${decision.decision}`,
              decision.result_id ? ` of ${decision.result_id}` : '',
              decision.reason_code ? ` (reason ${decision.reason_code})` : '',
              decision.decision === 'adopt' ? ` · saved ${money(decision.price)}` : '',
              decision.cross_institution ? ' · from another institution' : '',
            ),
          );
        } catch (error) {
          fill(outcome, problemView(error));
        }
      },
    },
    h('h2', {}, 'Decision 医生决定'),
    choices,
    h('button', { type: 'submit', id: 'record-decision' }, 'Record decision 记录'),
    outcome,
  );
}
