#!/usr/bin/env bash
# AllianceHub from end to end on one machine, printing each step:
#
#   1. builds hubd and hubctl, and starts two hubs on loopback (free ports, temporary data directories): the county
#      hub of 红安县 and the city hub of 黄冈市, made federation peers of each other with `hubctl peers whoami/add`;
#   2. registers the county alliance (医共体) on the county hub: a tertiary hospital, two township clinics, an imaging
#      center and an ECG center, and their people with their tokens;
#   3. the first clinic submits a chest CT with a DICOM study (three images, generated here with pydicom), the
#      second clinic a resting ECG with an HL7 aECG file (generated here);
#   4. readers claim and report them, the author's own second signature is refused (two-level signature), and
#      senior physicians sign them;
#   5. a clinician at a third hospital, registered on the city hub, checks whether the patient's chest CT and ECG can
#      be recognized: the city hub asks the county hub, which answers with its results (candidates with `hub_id`),
#      and the clinician adopts them.
#
# Usage: Samples/demo.sh            (from anywhere; needs swift, curl and python3)
#   DEMO_SKIP_BUILD=1    use the hubd and hubctl already built
#   DEMO_KEEP_RUNNING=1  leave both hubs running at the end (Ctrl-C stops them), to open the web console
#   DEMO_KEEP_FILES=1    keep the temporary folder with the hubs' data and logs
#   DEMO_SCREENSHOTS=DIR also tour the web console in headless Chromium on the demo's data, with a screenshot of
#                        each page in DIR
# The hubs and the temporary folder are removed on exit, whatever happens.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -t 1 ]]; then BOLD=$'\e[1m' GREEN=$'\e[32m' RED=$'\e[31m' DIM=$'\e[2m' PLAIN=$'\e[0m'; else
    BOLD='' GREEN='' RED='' DIM='' PLAIN=''
fi
STEP=0
step() { STEP=$((STEP + 1)); printf '\n%s%d. %s%s\n' "$BOLD" "$STEP" "$*" "$PLAIN"; }
say() { printf '   %s\n' "$*"; }
good() { printf '   %s✔ %s%s\n' "$GREEN" "$*" "$PLAIN"; }
fail() { printf '%sdemo failed: %s%s\n' "$RED" "$*" "$PLAIN" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/alliancehub-demo.XXXXXX")"
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ $status -ne 0 ]]; then
        for log in "$WORK"/*/hubd.log; do
            [[ -f $log ]] && { printf '%s--- last lines of %s%s\n' "$DIM" "$log" "$PLAIN" >&2; tail -n 15 "$log" >&2; }
        done
    fi
    if [[ ${DEMO_KEEP_FILES:-0} == 1 ]]; then echo "The hubs' files are kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in swift curl python3; do command -v "$tool" >/dev/null || fail "$tool is needed"; done

# --- small helpers ------------------------------------------------------------------------------------------------

# json PATH < file: one field of a JSON document (`a.b.0.c`); objects and arrays are printed as JSON.
json() {
    python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in filter(None, sys.argv[1].split(".")):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value)' "$1"
}

# sample NAME [JSON]: the body of Samples/requests/NAME.json, with the fields of JSON replaced, written to a file
# whose path is printed.
sample() {
    local out="$WORK/body-$1-$RANDOM.json" overrides="${2:-}"
    python3 - "$ROOT/Samples/requests/$1.json" "${overrides:-"{}"}" >"$out" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))["body"]
body.update(json.loads(sys.argv[2]))
print(json.dumps(body, ensure_ascii=False))
PY
    echo "$out"
}

# call URL TOKEN METHOD PATH [BODY_FILE [CONTENT_TYPE [IDEMPOTENCY_KEY]]]: the answer goes to $ANSWER, its status to
# $STATUS.
ANSWER="$WORK/answer.json"
call() {
    local args=(-sS -X "$3" -o "$ANSWER" -w '%{http_code}' -H "Authorization: Bearer $2")
    if [[ -n ${5:-} ]]; then args+=(-H "Content-Type: ${6:-application/json}" --data-binary "@$5"); fi
    if [[ -n ${7:-} ]]; then args+=(-H "Idempotency-Key: $7"); fi
    STATUS="$(curl "${args[@]}" "$1$4")"
}

# expect STATUS: fails the demo with the hub's problem document unless the last answer had that status.
expect() {
    [[ $STATUS == "$1" ]] || fail "expected HTTP $1, got $STATUS: $(cat "$ANSWER")"
}

# problem: the last answer's problem document, on one line.
problem() {
    python3 -c 'import json, sys; p = json.load(sys.stdin); print("%s %s: %s" % (p["status"], p["code"], p["detail"]))' \
        <"$ANSWER"
}

# --- 1. build and start -------------------------------------------------------------------------------------------

step "Build hubd and hubctl"
if [[ -z ${DEMO_SKIP_BUILD:-} ]]; then
    swift build --product hubd 2>&1 | tail -n 1
    swift build --product hubctl 2>&1 | tail -n 1
fi
BIN="$(swift build --show-bin-path)"
[[ -x $BIN/hubd && -x $BIN/hubctl ]] || fail "hubd and hubctl are not built in $BIN"

# The DICOM files are written with pydicom; it is installed into the temporary folder when Python lacks it.
if ! python3 -c 'import pydicom' 2>/dev/null; then
    say "installing pydicom for this run (into $WORK/python)"
    python3 -m pip install --quiet --disable-pip-version-check --target "$WORK/python" "pydicom>=3,<4" >/dev/null \
        || fail "pydicom is needed to write the DICOM study: pip install pydicom"
    export PYTHONPATH="$WORK/python${PYTHONPATH:+:$PYTHONPATH}"
fi

# start_hub NAME ID REGION TITLE: starts hubd on a free loopback port; sets URL and ADMIN.
start_hub() {
    local dir="$WORK/$1"
    mkdir -p "$dir/data"
    cat >"$dir/hub.yaml" <<EOF
hub:
  id: $2
  name: $4
  region: "$3"
http:
  host: 127.0.0.1
  port: 0
storage:
  data_dir: $dir/data
catalog:
  dir: $ROOT/Config/catalog
log:
  level: info
federation:
  allow_plain_http: true   # both hubs are on loopback without TLS; production peers are https:// only
outbound:
  allow_internal_addresses: true   # the peers and receivers listen on loopback
EOF
    "$BIN/hubd" serve --config "$dir/hub.yaml" >"$dir/hubd.log" 2>&1 &
    PIDS+=($!)
    local port=""
    for _ in $(seq 1 300); do
        port="$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$dir/hubd.log" | tail -n 1 | cut -d: -f2 || true)"
        if [[ -n $port ]] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
        kill -0 "${PIDS[-1]}" 2>/dev/null || fail "hubd $2 stopped: $(tail -n 5 "$dir/hubd.log")"
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || fail "hubd $2 did not become ready"
    URL="http://127.0.0.1:$port"
    ADMIN="$(cat "$dir/data/admin.token")"
}

step "Start two hubs on loopback"
start_hub county hub-county 421122 红安县医共体平台
COUNTY="$URL" COUNTY_ADMIN="$ADMIN"
good "hub-county (红安县, 421122) at $COUNTY, data in $WORK/county/data"
start_hub city hub-city 421100 黄冈市医联体平台
CITY="$URL" CITY_ADMIN="$ADMIN"
good "hub-city (黄冈市, 421100) at $CITY, data in $WORK/city/data"

county() { HUB_URL="$COUNTY" HUB_TOKEN="$COUNTY_ADMIN" "$BIN/hubctl" "$@"; }
city() { HUB_URL="$CITY" HUB_TOKEN="$CITY_ADMIN" "$BIN/hubctl" "$@"; }

step "Make the two hubs federation peers (hubctl peers whoami / peers add)"
county peers whoami | sed 's/^/   /'
COUNTY_KEY="$(county peers whoami --json | json public_key)"
CITY_KEY="$(city peers whoami --json | json public_key)"
city peers add --id hub-county --peer-url "$COUNTY" --public-key "$COUNTY_KEY" --region 421122 \
    --serves recognition --serves imaging --serves ecg >/dev/null
county peers add --id hub-city --peer-url "$CITY" --public-key "$CITY_KEY" --region 421100 --serves recognition \
    >/dev/null
city peers list | sed 's/^/   /'
good "each hub knows the other's Ed25519 key; the city hub asks the county hub for recognition"

# --- 2. the county alliance -----------------------------------------------------------------------------------------

step "Register the county alliance on hub-county (hubctl institutions / centers / practitioners)"
county institutions create --id ha-renmin --name 红安县人民医院 --level tertiary --region 421122 \
    --alliance hongan-county >/dev/null
county institutions create --id ha-qiliping --name 七里坪镇卫生院 --level primary --region 421122 \
    --alliance hongan-county >/dev/null
county institutions create --id ha-huajiahe --name 华家河镇卫生院 --level primary --region 421122 \
    --alliance hongan-county >/dev/null
county institutions list | sed 's/^/   /'

# Qualifications valid from a year ago for two years, whatever today is.
read -r VALID_FROM VALID_TO < <(python3 -c '
import datetime; t = datetime.date.today()
print(t.replace(year=t.year - 1, day=1), t.replace(year=t.year + 2, day=1))')
county centers create "$(sample createCenter "{\"qualifications\": [{\"type\": \"imaging_qc\", \"items\": [\"CT-CHEST\", \"DR-CHEST\"], \"valid_from\": \"$VALID_FROM\", \"valid_to\": \"$VALID_TO\", \"issuer\": \"湖北省医学影像质量控制中心\"}]}")" >/dev/null
cat >"$WORK/ecg-center.json" <<EOF
{"id": "ha-ecg", "name": "红安县医共体心电中心", "kind": "ecg", "institution_id": "ha-renmin",
 "items": ["ECG-12"], "modalities": ["ECG"], "daily_capacity": 300,
 "hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00", "close": "24:00"}],
 "turnaround_minutes": {"routine": 60, "urgent": 30, "asap": 15, "stat": 10},
 "qualifications": [{"type": "ecg_qc", "items": ["ECG-12"], "valid_from": "$VALID_FROM", "valid_to": "$VALID_TO",
                     "issuer": "黄冈市心电诊断质量控制中心"}]}
EOF
county centers create "$WORK/ecg-center.json" >/dev/null
county centers list | sed 's/^/   /'

# person INSTITUTION NAME TITLE ROLE...: registers a practitioner and issues a token; prints the token.
person() {
    local institution=$1 name=$2 title=$3
    shift 3
    local roles=()
    for role in "$@"; do roles+=(--role "$role"); done
    local id
    id="$(hub_ctl practitioners create --institution "$institution" --name "$name" --title "$title" "${roles[@]}" \
        --json | json id)"
    hub_ctl token issue --practitioner "$id" --label demo --json | json token
}
hub_ctl() { county "$@"; }
CLINIC_QLP="$(person ha-qiliping 刘护士 resident clinic)"
CLINIC_HJH="$(person ha-huajiahe 陈医生 resident clinic)"
CT_READER="$(person ha-renmin 周敏 resident reader)"
CT_AUTHOR_VERIFIER="$(person ha-renmin 黄磊 attending reader verifier)"
CT_SENIOR="$(person ha-renmin 王建国 chief verifier)"
ECG_READER="$(person ha-renmin 吴倩 attending reader)"
OPERATOR="$(person ha-renmin 信息科 attending admin reader verifier auditor)"
county practitioners list --institution ha-renmin | sed 's/^/   /'
good "tokens issued to two clinics' staff, three imaging physicians, an ECG physician and the IT office"

# --- 3. exams with their files ----------------------------------------------------------------------------------------

PATIENT_CT="$(python3 -c '
first17 = "42112219800101123"
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11])')"
PATIENT_ECG="$(python3 -c '
first17 = "42112219580707131"
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11])')"

step "七里坪镇卫生院 submits a chest CT for 张三 with a DICOM study"
call "$COUNTY" "$CLINIC_QLP" POST /v1/exams \
    "$(sample submitExam "{\"patient\": {\"identifiers\": [{\"system\": \"cn-resident-id\", \"value\": \"$PATIENT_CT\"}, {\"system\": \"mrn:ha-qiliping\", \"value\": \"QLP-0042\"}], \"name\": \"张三\", \"sex\": \"male\", \"birth_date\": \"1980-01-01\"}}")" \
    application/json "demo-ct-$PATIENT_CT"
expect 201
CT_EXAM="$(json id <"$ANSWER")"
ACCESSION="$(json accession_number <"$ANSWER")"
say "exam $CT_EXAM (accession $ACCESSION) routed to $(json center_id <"$ANSWER"), step $(json step <"$ANSWER")"

python3 - "$WORK/study" "$PATIENT_CT" "$ACCESSION" <<'PY'
# Three slices of a small synthetic chest CT, as a CT scanner at the clinic would send them.
import array, datetime, math, os, sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

folder, patient_id, accession = sys.argv[1:4]
os.makedirs(folder, exist_ok=True)
study, series, now = generate_uid(), generate_uid(), datetime.datetime.now()
for number in range(1, 4):
    sop = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyDate = ds.SeriesDate = now.strftime("%Y%m%d")
    ds.StudyTime = now.strftime("%H%M%S")
    ds.AccessionNumber, ds.Modality = accession, "CT"
    ds.InstitutionName, ds.StudyDescription, ds.BodyPartExamined = "七里坪镇卫生院", "胸部CT平扫", "CHEST"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "张^三", patient_id, "19800101", "M"
    ds.SeriesNumber, ds.InstanceNumber, ds.SliceThickness = 1, number, "5"
    ds.ImagePositionPatient = [-160, -160, -5 * number]
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    pixels = array.array("H", (
        200 if math.hypot(x - 32, y - 32) > 28 else (1000 if math.hypot(abs(x - 32) - 12, y - 30) < 9 else 1100)
        for y in range(64) for x in range(64)))
    ds.PixelData = pixels.tobytes()
    ds.save_as(os.path.join(folder, f"ct-{number}.dcm"), enforce_file_format=True)
PY
for file in "$WORK"/study/ct-*.dcm; do
    call "$COUNTY" "$CLINIC_QLP" POST "/v1/exams/$CT_EXAM/attachments" "$file" application/dicom
    expect 201
    say "$(basename "$file"): stored as $(json sha256 <"$ANSWER" | cut -c1-16)…, modality $(json dicom.modality <"$ANSWER"), patient $(json dicom.patient_name <"$ANSWER"), study $(json dicom.study_instance_uid <"$ANSWER" | cut -c1-24)…"
done
good "three DICOM images checked and their key tags extracted"

step "华家河镇卫生院 submits a resting 12-lead ECG for 李四 with an HL7 aECG file"
cat >"$WORK/ecg-exam.json" <<EOF
{"patient": {"identifiers": [{"system": "cn-resident-id", "value": "$PATIENT_ECG"}], "name": "李四", "sex": "male",
             "birth_date": "1958-07-07"},
 "item_code": "ECG-12", "priority": "urgent", "clinical_info": "活动后胸闷一周", "consent": {"given": true, "method": "written"}}
EOF
call "$COUNTY" "$CLINIC_HJH" POST /v1/exams "$WORK/ecg-exam.json" application/json "demo-ecg-$PATIENT_ECG"
expect 201
ECG_EXAM="$(json id <"$ANSWER")"
say "exam $ECG_EXAM routed to $(json center_id <"$ANSWER")"
python3 - "$WORK/ecg.xml" "$PATIENT_ECG" <<'PY'
# Ten seconds of a synthetic sinus rhythm at 500 Hz on the twelve standard leads, as HL7 v3 annotated ECG.
import datetime, math, sys, uuid
path, patient_id = sys.argv[1:3]
start = datetime.datetime.now()
stamp = lambda t: t.strftime("%Y%m%d%H%M%S.000")
leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
gains = [0.6, 1.0, 0.4, -0.8, 0.3, 0.7, -0.5, 0.2, 0.8, 1.2, 1.1, 0.9]
def beat(t):  # one heartbeat every 0.8 s: P wave, QRS complex, T wave (microvolts)
    p = (t % 0.8)
    return (120 * math.exp(-((p - 0.10) / 0.025) ** 2) + 1000 * math.exp(-((p - 0.22) / 0.010) ** 2)
            - 150 * math.exp(-((p - 0.20) / 0.008) ** 2) + 300 * math.exp(-((p - 0.45) / 0.045) ** 2))
samples = [i / 500 for i in range(5000)]
sequences = "".join(f"""
          <component><sequence classCode="OBS" moodCode="EVN">
            <code code="MDC_ECG_LEAD_{lead}" codeSystem="2.16.840.1.113883.6.24" codeSystemName="MDC"/>
            <value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="5" unit="uV"/>
              <digits>{" ".join(str(round(gain * beat(t) / 5)) for t in samples)}</digits></value>
          </sequence></component>""" for lead, gain in zip(leads, gains))
open(path, "w", encoding="utf-8").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="OBS" moodCode="EVN">
  <id root="{uuid.uuid4()}"/>
  <code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4" displayName="常规十二导联心电图"/>
  <effectiveTime><low value="{stamp(start)}"/><high value="{stamp(start + datetime.timedelta(seconds=10))}"/></effectiveTime>
  <componentOf><timepointEvent classCode="CTTEVENT" moodCode="EVN"><componentOf>
    <subjectAssignment classCode="CLNTRL" moodCode="EVN"><subject typeCode="SBJ"><trialSubject classCode="RESBJ">
      <id root="2.16.156.10011.1.2" extension="{patient_id}"/>
      <subjectDemographicPerson classCode="PSN" determinerCode="INSTANCE"><name>李四</name>
        <administrativeGenderCode code="M" codeSystem="2.16.840.1.113883.5.1"/><birthTime value="19580707"/>
      </subjectDemographicPerson></trialSubject></subject>
      <componentOf><clinicalTrial classCode="CLNTRL" moodCode="EVN"><id root="ha-huajiahe"/></clinicalTrial></componentOf>
    </subjectAssignment></componentOf></timepointEvent></componentOf>
  <component><series classCode="OBSSER" moodCode="EVN">
    <id root="{uuid.uuid4()}"/>
    <code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>
    <effectiveTime><low value="{stamp(start)}"/><high value="{stamp(start + datetime.timedelta(seconds=10))}"/></effectiveTime>
    <component><sequenceSet>
          <component><sequence classCode="OBS" moodCode="EVN">
            <code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>
            <value xsi:type="GLIST_TS"><head value="{stamp(start)}"/><increment value="0.002" unit="s"/></value>
          </sequence></component>{sequences}
    </sequenceSet></component>
  </series></component>
</AnnotatedECG>
""")
PY
call "$COUNTY" "$CLINIC_HJH" POST "/v1/exams/$ECG_EXAM/attachments" "$WORK/ecg.xml" application/hl7-aecg+xml
expect 201
good "aECG stored ($(json kind <"$ANSWER"), $(($(json size <"$ANSWER") / 1024)) KiB, sha256 $(json sha256 <"$ANSWER" | cut -c1-16)…)"

# --- 4. reading and signing -------------------------------------------------------------------------------------------

step "The imaging center reads the CT: worklist, claim, report"
call "$COUNTY" "$CT_READER" GET /v1/centers/ha-imaging/worklist
expect 200
say "worklist of ha-imaging: $(python3 -c 'import json, sys; print(", ".join("%s %s (%s)" % (e["patient"].get("name", ""), e["item_code"], e["priority"]) for e in json.load(sys.stdin)["items"]))' <"$ANSWER")"
call "$COUNTY" "$CT_AUTHOR_VERIFIER" POST "/v1/exams/$CT_EXAM/claim"
expect 200
say "黄磊 (attending) claimed it until $(json claim.until <"$ANSWER")"
call "$COUNTY" "$CT_AUTHOR_VERIFIER" POST "/v1/exams/$CT_EXAM/report" "$(sample reportExam \
    '{"findings": "右肺上叶尖段见一约 8 mm 实性结节，边缘光整；余肺野清晰，纵隔未见肿大淋巴结。", "conclusion": "右肺上叶小结节，建议 12 个月后复查。", "critical_values": []}')"
expect 200
say "report written; step $(json step <"$ANSWER")"

step "Two-level signature: the author may not sign his own report"
call "$COUNTY" "$CT_AUTHOR_VERIFIER" POST "/v1/exams/$CT_EXAM/verify"
expect 403
say "refused as it must be: $(problem)"
call "$COUNTY" "$CT_SENIOR" POST "/v1/exams/$CT_EXAM/verify"
expect 200
say "王建国 (chief) verified it: step $(json step <"$ANSWER"), report $(json reports.0.status <"$ANSWER"), result $(json result_id <"$ANSWER")"
good "the CT report is final and registered as a result other hospitals may recognize"

step "The ECG center reads and signs the ECG"
call "$COUNTY" "$ECG_READER" POST "/v1/exams/$ECG_EXAM/claim"
expect 200
call "$COUNTY" "$ECG_READER" POST "/v1/exams/$ECG_EXAM/report" "$(sample reportExam \
    '{"findings": "窦性心律，心率 75 次/分，PR 间期 0.16 s，QRS 时限 0.09 s，QTc 0.41 s，未见 ST-T 改变。", "conclusion": "窦性心律，正常心电图。", "critical_values": []}')"
expect 200
say "吴倩 reported: $(json reports.0.conclusion <"$ANSWER")"
call "$COUNTY" "$CT_SENIOR" POST "/v1/exams/$ECG_EXAM/verify"
expect 200
good "verified by 王建国: step $(json step <"$ANSWER"), result $(json result_id <"$ANSWER")"

# --- 5. recognition at the city hub -----------------------------------------------------------------------------------

step "A third hospital on hub-city asks before ordering the tests again"
city institutions create --id hg-central --name 黄冈市中心医院 --level tertiary --region 421102 \
    --alliance huanggang-city >/dev/null
hub_ctl() { city "$@"; }
CLINICIAN="$(person hg-central 郑医生 attending clinician)"
AUDITOR="$(person hg-central 医务科 attending auditor)"
say "黄冈市中心医院 (hg-central, 421102) registered on hub-city with a clinician"

# show_check: prints the candidates and peers of the check in $ANSWER.
show_check() {
    python3 - "$ANSWER" <<'PY'
import json, sys
check = json.load(open(sys.argv[1]))
print(f"   check {check['id']}: item {check['item_code']}, catalog {check.get('catalog_version')}")
for c in check["candidates"]:
    verdict = "recognizable" if c["recognizable"] else "not recognizable: " + "; ".join(r["detail"] for r in c["reasons"])
    print(f"   candidate {c['result_id']} from hub {c['hub_id']} ({c['institution_id']}, {c['performed_at'][:10]}, "
          f"{c['report_status']}, mark {c.get('mark', '')}): {verdict}")
for p in check["peers"]:
    print(f"   peer {p['hub_id']}: {p['status']}, {p.get('latency_ms', '?')} ms, {p.get('results', 0)} result(s)")
PY
}

# recognize ITEM: runs a federated check at hub-city and adopts the county hub's recognizable result.
recognize() {
    call "$CITY" "$CLINICIAN" POST /v1/recognition/checks "$(sample createRecognitionCheck \
        "{\"patient\": \"cn-resident-id|$2\", \"item_code\": \"$1\", \"department\": \"心内科\"}")"
    expect 201
    show_check
    local check result
    check="$(json id <"$ANSWER")"
    result="$(python3 -c '
import json, sys
found = [c for c in json.load(sys.stdin)["candidates"] if c["recognizable"] and c["hub_id"] == "hub-county"]
print(found[0]["result_id"] if found else "")' <"$ANSWER")"
    [[ -n $result ]] || fail "hub-city found no recognizable $1 result at hub-county"
    cat >"$WORK/decision.json" <<EOF
{"check_id": "$check", "decision": "adopt", "result_id": "$result", "department": "心内科"}
EOF
    call "$CITY" "$CLINICIAN" POST /v1/recognition/decisions "$WORK/decision.json" application/json "adopt-$check"
    expect 201
    good "adopted $result from hub-county: saved ¥$(json price <"$ANSWER") (cross-institution: $(json cross_institution <"$ANSWER"))"
}
say "张三's chest CT (CT-CHEST):"
recognize CT-CHEST "$PATIENT_CT"
say "李四's ECG (ECG-12):"
recognize ECG-12 "$PATIENT_ECG"

step "The statistics regulators read, at hub-city"
HUB_URL="$CITY" HUB_TOKEN="$AUDITOR" "$BIN/hubctl" stats | sed 's/^/   /'

if [[ -n ${DEMO_SCREENSHOTS:-} ]]; then
    step "The web console on the demo's data, in headless Chromium"
    CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
    [[ -n $CHROMIUM ]] || fail "DEMO_SCREENSHOTS needs Chromium (apt-get install chromium fonts-noto-cjk)"
    mkdir -p "$DEMO_SCREENSHOTS"
    SCREENSHOTS="$(cd "$DEMO_SCREENSHOTS" && pwd)"
    cat >"$WORK/console-plan.json" <<EOF
{"chromium": "$CHROMIUM", "scenario": "tour", "base_url": "$COUNTY", "screenshots": "$SCREENSHOTS",
 "bases": {"overview": "$COUNTY", "worklist": "$COUNTY", "recognition": "$CITY", "stats": "$CITY"},
 "tokens": {"operator": "$OPERATOR", "clinician": "$CLINICIAN", "auditor": "$AUDITOR"},
 "center": "ha-imaging", "exam_with_dicom": "$CT_EXAM", "patient": "cn-resident-id|$PATIENT_CT",
 "item_code": "CT-CHEST"}
EOF
    python3 "$ROOT/Tests/HubServerTests/Console/console_driver.py" "$WORK/console-plan.json" "$WORK/console.json"
    python3 - "$WORK/console.json" <<'PY' || fail "the console tour failed"
import json, sys
result = json.load(open(sys.argv[1]))
for shot in result.get("screenshots", []):
    print(f"   screenshot {shot}")
if not result.get("ok"):
    print(f"   {result.get('failure')}")
errors = [e for e in result.get("errors", []) if not e.get("expected")]
for error in errors:
    print(f"   console error on {error['phase']}: {error['text']}")
sys.exit(0 if result.get("ok") and not errors else 1)
PY
    good "overview and worklist at hub-county, recognition and statistics at hub-city, without console errors"
fi

printf '\n%sDemo complete.%s Two federated hubs, a county alliance, a DICOM study and an ECG read and signed at two\n' \
    "$BOLD$GREEN" "$PLAIN"
printf 'levels, and results recognized across hubs.\n'
if [[ ${DEMO_KEEP_RUNNING:-0} == 1 ]]; then
    printf '\nThe hubs keep running until Ctrl-C. Web console: %s/console/ and %s/console/\n' "$COUNTY" "$CITY"
    printf 'Tokens: county IT office (admin, reader, verifier, auditor) %s\n' "$OPERATOR"
    printf '        county reader and verifier 黄磊 %s\n' "$CT_AUTHOR_VERIFIER"
    printf '        city clinician 郑医生 %s\n        city auditor %s\n' "$CLINICIAN" "$AUDITOR"
    wait
fi
