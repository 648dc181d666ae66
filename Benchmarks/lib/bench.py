#!/usr/bin/env python3
"""Helpers of Benchmarks/run (standard library only). Subcommands:

  wait-ready    wait for a starting hubd: its port from the log, then /readyz 200; print timings as JSON
  proc          a process's memory and CPU from /proc as JSON
  request       one HTTP request with a status check (setup calls)
  catalog-codes every code (and equivalent code) of the catalog in force, one per line
  outbox-wait   wait until a receiver has every delivery and the outbox has nothing pending or in flight
  meta          add key=value pairs to a scenario's meta.json
  report        turn the raw results of a run into the table and results/latest.json
"""

import argparse
import http.client
import datetime
import json
import urllib.request
import os
import re
import statistics
import sys
import time
import urllib.parse

# ---------------------------------------------------------------------------------------------- small helpers


def resident_id(first17):
    """A resident ID (GB 11643) with its ISO 7064 MOD 11-2 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def die(message):
    print(f"bench.py: {message}", file=sys.stderr)
    sys.exit(1)


def call(method, url, token=None, body=None, timeout=10):
    """(status, parsed JSON or text) of one request."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path or "/", body=data, headers=headers)
        reply = connection.getresponse()
        raw = reply.read()
    finally:
        connection.close()
    try:
        return reply.status, json.loads(raw)
    except ValueError:
        return reply.status, raw.decode("utf-8", "replace")


def proc_snapshot(pid):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            status[name] = value.strip()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")

    def kb(name):
        return int(status[name].split()[0]) if name in status else None

    return {
        "pid": pid,
        "peak_rss_mb": round(kb("VmHWM") / 1024, 1) if kb("VmHWM") is not None else None,
        "rss_mb": round(kb("VmRSS") / 1024, 1) if kb("VmRSS") is not None else None,
        "threads": int(status.get("Threads", "0")),
        # utime and stime are fields 14 and 15 of stat; fields[] starts at field 3 (state)
        "cpu_seconds": (int(fields[11]) + int(fields[12])) / ticks,
        "at": time.time(),
    }


# ------------------------------------------------------------------------------------------------ subcommands


def cmd_wait_ready(args):
    """Port from the log line "listening on 127.0.0.1:PORT", then /readyz until 200."""
    deadline = time.time() + args.timeout
    port = None
    listening_ms = None
    pattern = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
    while time.time() < deadline:
        if not os.path.exists(f"/proc/{args.pid}") or _is_zombie(args.pid):
            die(f"hubd (pid {args.pid}) exited before it was ready; its log:\n{_tail(args.log)}")
        if port is None:
            with open(args.log, errors="replace") as f:
                found = pattern.search(f.read())
            if found:
                port = int(found.group(1))
                listening_ms = (time.time_ns() - args.t0_ns) / 1e6
        if port is not None:
            try:
                status, _ = call("GET", f"http://127.0.0.1:{port}/readyz", timeout=2)
                if status == 200:
                    ready_ms = (time.time_ns() - args.t0_ns) / 1e6
                    print(json.dumps({"port": port, "listening_ms": round(listening_ms, 1),
                                      "ready_ms": round(ready_ms, 1),
                                      "peak_rss_mb": proc_snapshot(args.pid)["peak_rss_mb"]}))
                    return
            except OSError:
                pass
        time.sleep(0.002)
    die(f"hubd was not ready after {args.timeout} s; its log:\n{_tail(args.log)}")


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def cmd_proc(args):
    print(json.dumps(proc_snapshot(args.pid)))


def cmd_request(args):
    status, body = call(args.method, args.url, token=args.token, body=args.body, timeout=args.timeout)
    if status not in args.expect:
        die(f"{args.method} {args.url}: expected {args.expect}, got {status}: {str(body)[:500]}")
    print(json.dumps(body) if not isinstance(body, str) else body)


def bench_patient(index):
    """The resident ID of benchmark patient `index`: born 1970-01-01 plus (index mod 19,000) days, in 420106."""
    born = datetime.date(1970, 1, 1) + datetime.timedelta(days=index % 19000)
    return resident_id(f"420106{born:%Y%m%d}{index // 19000:03d}")


def cmd_bulk_load(args):
    """Loads COUNT results over PATIENTS patients through POST /v1/results/bulk, CHUNK lines a request; times only
    the requests (each chunk is generated before its request is sent)."""
    items = ["K", "GLU", "HBA1C", "NA", "CL"]
    now = time.time()
    created = rejected = 0
    seconds = 0.0
    chunks = []
    index = 0
    while index < args.count:
        lines = []
        for n in range(index, min(args.count, index + args.chunk)):
            patient = bench_patient(n % args.patients)
            performed = datetime.datetime.fromtimestamp(now - 3600 - (n % 40) * 86400, datetime.timezone.utc)
            lines.append(json.dumps({
                "patient": {"identifiers": [{"system": "cn-resident-id", "value": patient}], "name": "患者"},
                "item_code": items[(n // args.patients) % len(items)],
                "performed_at": performed.strftime("%Y-%m-%dT%H:%M:%SZ"), "report_status": "final",
                "values": [{"value": "4.1", "unit": "mmol/L"}],
            }, ensure_ascii=False))
        body = ("\n".join(lines) + "\n").encode()
        request = urllib.request.Request(args.url, data=body, method="POST", headers={
            "Authorization": f"Bearer {args.token}", "Content-Type": "application/x-ndjson"})
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            made = int(response.headers.get("X-Results-Created", "0"))
            refused = int(response.headers.get("X-Results-Rejected", "0"))
        took = time.monotonic() - started
        seconds += took
        created += made
        rejected += refused
        chunks.append({"lines": len(lines), "seconds": round(took, 3), "rate": round(len(lines) / took, 1)})
        index += len(lines)
    print(json.dumps({"results": args.count, "created": created, "rejected": rejected, "seconds": round(seconds, 3),
                      "rate": round(created / seconds, 1) if seconds else 0, "chunks": chunks}))
    if rejected:
        sys.exit(f"{rejected} results were rejected")


def cmd_catalog_codes(args):
    codes = []
    cursor = None
    for _ in range(1000):
        query = {"limit": "500"}
        if cursor:
            query["next"] = cursor
        status, page = call("GET", f"{args.base}/v1/catalog?{urllib.parse.urlencode(query)}", token=args.token)
        if status != 200:
            die(f"GET /v1/catalog answered {status}: {page}")
        for item in page.get("items", []):
            codes.append(item["code"])
            if args.equivalents:
                codes.extend(item.get("equivalent_codes") or [])
                if item.get("loinc"):
                    codes.append(item["loinc"])
        cursor = page.get("next")
        if not cursor:
            break
    unique = list(dict.fromkeys(codes))
    # Every code is looked up once: the load must measure answers, not 404s. A code the API cannot find is left
    # out of the load and reported (a hub bug, or a code the catalog lists twice).
    reachable, unreachable = [], []
    for code in unique:
        status, _ = call("GET", f"{args.base}/v1/catalog/items/{urllib.parse.quote(code, safe='')}", token=args.token)
        (reachable if status == 200 else unreachable).append(code if status == 200 else f"{code} ({status})")
    if not reachable:
        die("no catalog code could be looked up")
    with open(args.out, "w") as f:
        f.write("\n".join(reachable) + "\n")
    print(json.dumps({"codes": len(reachable), "unreachable": unreachable}, ensure_ascii=False))


def cmd_outbox_wait(args):
    """Polls the receiver and the hub's outbox until every delivery arrived and nothing is left to send."""
    deadline = time.time() + args.timeout
    stats = {}
    left = {}
    while True:
        _, stats = call("GET", f"{args.receiver}/__stats")
        if stats.get("unique", 0) >= args.expect:
            left = {}
            for state in ("pending", "in_flight"):
                status, page = call("GET", f"{args.base}/v1/outbox?state={state}&limit=1", token=args.token)
                if status != 200:
                    die(f"GET /v1/outbox?state={state} answered {status}: {page}")
                left[state] = len(page.get("items", []))
            if not any(left.values()):
                break
        if time.time() > deadline:
            _, dead = call("GET", f"{args.base}/v1/outbox?state=dead&limit=5", token=args.token)
            die(f"outbox not drained after {args.timeout} s: receiver {stats}, left {left}, dead sample {dead}")
        time.sleep(0.02)
    drained_at = time.time()
    _, dead = call("GET", f"{args.base}/v1/outbox?state=dead&limit=500", token=args.token)
    print(json.dumps({"receiver": stats, "drained_at": drained_at,
                      "dead": len(dead.get("items", [])) if isinstance(dead, dict) else None}))


def _typed(value):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def cmd_meta(args):
    path = os.path.join(args.dir, "meta.json")
    meta = {}
    if os.path.exists(path):
        with open(path) as f:
            meta = json.load(f)
    for pair in args.pairs:
        key, _, value = pair.partition("=")
        meta[key] = _typed(value)
    with open(path, "w") as f:
        json.dump(meta, f, indent=1)


def cmd_disk_probe(args):
    """How long the disk under `dir` (where the hubs keep their stores) takes to flush one 4 KiB page, as a commit of
    the hub does with `storage.durability: full`: the median and p99 of `count` fdatasync calls, in µs. Scenarios that
    write wait on this, and it drifts on virtual machines far more than the CPU does."""
    path = os.path.join(args.dir, "disk-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    page = b"\x5a" * 4096
    times = []
    try:
        for i in range(64):
            os.pwrite(fd, page, i * 4096)
        os.fsync(fd)
        for i in range(args.count):
            os.pwrite(fd, page, (i % 64) * 4096)
            started = time.perf_counter_ns()
            os.fdatasync(fd)
            times.append((time.perf_counter_ns() - started) / 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    print(json.dumps({"median_us": round(statistics.median(times)),
                      "p99_us": round(statistics.quantiles(times, n=100)[98]), "count": len(times)}))


# ------------------------------------------------------------------------------------------------------ report

# Targets on the 2-core reference machine (see Benchmarks/README.md). Each: (scenario, what, check, target text).
# A check gets the scenario's result and answers (measured text, passed) or None when it does not apply.


def _rss_target(result):
    rss = result.get("peak_rss_mb")
    return None if rss is None else (f"{rss:.0f} MB", rss <= 250)


def _ratio_target(minimum):
    def check(result):
        ratio = result.get("ratio")
        return None if ratio is None else (f"{ratio:.2f}", ratio >= minimum)
    return check


def _p99_target(maximum_ms):
    def check(result):
        p99 = (result.get("latency_ms") or {}).get("p99")
        return None if p99 is None else (f"{p99:.1f} ms", p99 <= maximum_ms)
    return check


def _throughput_target(minimum):
    def check(result):
        value = result.get("throughput")
        return None if value is None else (f"{value:,.0f} {result.get('unit', '')}".strip(), value >= minimum)
    return check


def _min_run_target(minimum):
    def check(result):
        runs = result.get("throughput_runs")
        return None if not runs else (f"slowest run {min(runs):,.0f} req/s", min(runs) >= minimum)
    return check


def _startup_target(key, maximum_ms):
    def check(result):
        value = (result.get("startup_ms") or {}).get(key)
        return None if value is None else (f"{value:,.0f} ms", value <= maximum_ms)
    return check


def _fanout_target(maximum_s):
    def check(result):
        value = result.get("batch_seconds_cold")
        return None if value is None else (f"{value:.2f} s", value <= maximum_s)
    return check


def _fanout_latency_target(result):
    p99 = (result.get("latency_ms") or {}).get("p99")
    delay = (result.get("parameters") or {}).get("peer_delay_ms")
    if p99 is None or not delay:
        return None
    return (f"p99 {p99:.0f} ms = {p99 / delay:.2f} × {delay} ms", p99 <= 75)


def _dead_peer_target(result):
    dead = result.get("one_dead_latency_ms") or {}
    deadline = (result.get("parameters") or {}).get("deadline_ms")
    if dead.get("max") is None or not deadline:
        return None
    return (f"slowest {dead['max']:.0f} ms, deadline {deadline} ms", dead["max"] <= deadline)


def _qido_patient_target(result):
    p99 = ((result.get("studies_query") or {}).get("latency_ms") or {}).get("p99")
    return None if p99 is None else (f"{p99:.1f} ms", p99 <= 5)


def _stow_target(result):
    rate = result.get("throughput")
    return None if rate is None else (f"{rate:,.0f} instances/s", rate >= 1500)


def _submissions_target(minimum):
    def check(result):
        rate = result.get("throughput")
        return None if rate is None else (f"{rate:,.0f} submissions/s", rate >= minimum)
    return check


def _stow_flat_target(result):
    windows = result.get("window_rates") or []
    if len(windows) < 2:
        return None
    first, last = windows[0], windows[-1]
    return (f"last window {last:,.0f}/s vs first {first:,.0f}/s ({last / first:.2f})", last >= 0.9 * first)


def _oru_target(result):
    rate = result.get("throughput")
    return None if rate is None else (f"{rate:,.0f} results/s over 4 connections", rate >= 20000)


def _no_errors(result):
    if "error_count" not in result:
        return None
    return (f"{result['error_count']} of {result.get('requests', 0):,}", result["error_count"] == 0)


TARGETS = [
    ("*", "peak RSS of the hub ≤ 250 MB", _rss_target),
    ("*", "every request answered 2xx", _no_errors),
    ("registry_read", "throughput ≥ 0.40 × baseline", _ratio_target(0.40)),
    ("registry_read", "p99 ≤ 25 ms at 16 connections", _p99_target(25)),
    ("catalog_lookup", "throughput ≥ 0.40 × baseline", _ratio_target(0.40)),
    ("catalog_lookup", "p99 ≤ 25 ms at 16 connections", _p99_target(25)),
    ("registry_create", "≥ 500 institutions created per second", _throughput_target(500)),
    ("exam_submit", "≥ 200 exams submitted per second, in every run", _min_run_target(200)),
    ("exam_attach", "≥ 100 submissions with a 1 MB attachment per second", _submissions_target(100)),
    ("outbox_delivery", "≥ 300 deliveries per second to 10 receivers", _throughput_target(300)),
    ("curl_fanout", "1,000 concurrent requests held 200 ms complete in ≤ 1.0 s (cold)", _fanout_target(1.0)),
    ("startup", "empty store: launch to /readyz 200 ≤ 2 s", _startup_target("empty_median", 2000)),
    ("startup", "seeded store: launch to /readyz 200 ≤ 2 s", _startup_target("seeded_median", 2000)),
    ("startup", "results store: launch to /readyz 200 ≤ 2 s", _startup_target("results_median", 2000)),
    ("startup", "SIGTERM to exit, idle hub, ≤ 1 s", _startup_target("stop_max", 1000)),
    ("recognition_check", "≥ 5,000 checks/s", _throughput_target(5000)),
    ("recognition_check", "p99 ≤ 10 ms at 16 connections", _p99_target(10)),
    ("bulk_ingest", "≥ 20,000 results/s", _throughput_target(20000)),
    ("stow", "≥ 1,500 instances of 10 KB stored per second, 4 clients", _stow_target),
    ("stow", "the last window no slower than the first by more than 10%", _stow_flat_target),
    ("qido", "studies by PatientID: p99 ≤ 5 ms, 16 in flight", _qido_patient_target),
    ("federated_check", "8 peers answering in 50 ms: p99 ≤ 75 ms (parallel fan-out)", _fanout_latency_target),
    ("federated_check", "one peer frozen: no check past the configured deadline", _dead_peer_target),
    ("hl7_oru", "≥ 20,000 results/s from ORU^R01 over MLLP, 4 connections", _oru_target),
]


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _wrk(path):
    """The BENCH_JSON line of a wrk run, with throughput and latency in ms."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    found = re.search(r"^BENCH_JSON (.*)$", text, re.M)
    if not found:
        return None
    data = json.loads(found.group(1))
    seconds = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    lat = data["latency_us"]
    return {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "throughput": data["requests"] / seconds if seconds else 0,
        "errors": data["errors"],
        "error_count": errors,
        "latency_ms": {k: round(lat[k] / 1000, 2) for k in ("p50", "p75", "p90", "p95", "p99", "p999", "max")}
        | {"mean": round(lat["mean"] / 1000, 2)},
    }


def _wrk_runs(directory):
    """The measured runs of wrk_run: the one with the median throughput, every throughput, all requests."""
    runs = []
    for file in sorted(os.listdir(directory)):
        if re.match(r"wrk\.out\.\d+$", file):
            run = _wrk(os.path.join(directory, file))
            if run:
                runs.append(run)
    if not runs:
        return None, [], 0, 0
    ordered = sorted(runs, key=lambda r: r["throughput"])
    return (ordered[(len(ordered) - 1) // 2], [round(r["throughput"], 1) for r in runs],
            sum(r["requests"] for r in runs), sum(r["error_count"] for r in runs))


def _cpu_per_request(before, after, requests):
    if not before or not after or not requests:
        return None
    return round((after["cpu_seconds"] - before["cpu_seconds"]) / requests * 1e6, 1)


def _add_cpu(result, directory, operations, key="hub_cpu_us_per_request"):
    """The hub's CPU per operation over the measurement (proc-before/after.json), when both were taken."""
    cpu = _cpu_per_request(_load(os.path.join(directory, "proc-before.json")),
                           _load(os.path.join(directory, "proc-after.json")), operations)
    if cpu is not None:
        result[key] = cpu


def _scenario(directory, name):
    """One row's data from a scenario's raw files."""
    meta = _load(os.path.join(directory, "meta.json")) or {}
    result = {"scenario": name, "status": meta.get("status", "missing"), "reason": meta.get("reason"),
              "client": meta.get("client"), "parameters": {k[6:]: v for k, v in meta.items() if k.startswith("param_")}}
    if "load_at_start" in meta:
        result["load_at_start"] = meta["load_at_start"]
    if result["status"] != "ok":
        return result
    final = _load(os.path.join(directory, "proc-final.json"))
    if final:
        result["peak_rss_mb"] = final["peak_rss_mb"]
        result["threads"] = final["threads"]
    wrk, throughputs, all_requests, all_errors = _wrk_runs(directory)
    if wrk:
        # requests and error_count cover every measured run; latency is the median run's
        result.update(throughput=round(wrk["throughput"], 1), unit="req/s", latency_ms=wrk["latency_ms"],
                      requests=all_requests, errors=wrk["errors"], error_count=all_errors,
                      throughput_runs=throughputs)
        _add_cpu(result, directory, all_requests)
    if name == "registry_create" or name == "registry_read":
        seed = _load(os.path.join(directory, "seed.json"))
        if seed:
            result["seed"] = seed
    if name == "registry_create":
        seed = result.get("seed") or {}
        result.update(throughput=round(seed.get("rate", 0), 1), unit="created/s", latency_ms=seed.get("latency_ms"),
                      requests=seed.get("ok"))
        _add_cpu(result, directory, seed.get("ok"))
    if name == "exam_submit" and wrk:
        warmup = _wrk(os.path.join(directory, "wrk.warmup"))
        result["exams_submitted"] = all_requests - all_errors + (warmup["requests"] - warmup["error_count"]
                                                                  if warmup else 0) + 1
    if name == "catalog_lookup":
        codes = _load(os.path.join(directory, "codes.json")) or {}
        result["codes"] = codes.get("codes")
        result["unreachable_codes"] = codes.get("unreachable", [])
    if name == "outbox_delivery":
        wait = _load(os.path.join(directory, "outbox.json")) or {}
        enqueue = _load(os.path.join(directory, "enqueue.json")) or {}
        receiver = wait.get("receiver", {})
        t0 = meta.get("enqueue_started_at")
        elapsed = (receiver.get("last_at") or 0) - t0 if t0 else None
        delivered = receiver.get("unique", 0)
        paced = (_load(os.path.join(directory, "outbox-paced.json")) or {}).get("receiver", {})
        result.update(
            throughput=round(delivered / elapsed, 1) if elapsed else None, unit="deliveries/s",
            latency_ms=paced.get("lag_ms"), burst_latency_ms=receiver.get("lag_ms"),
            paced_deliveries=paced.get("unique"), paced_repeats=paced.get("repeats"),
            paced_bad_signatures=paced.get("bad_signatures"), deliveries=delivered, repeats=receiver.get("repeats"),
            bad_signatures=receiver.get("bad_signatures"), dead=wait.get("dead"),
            seconds=round(elapsed, 2) if elapsed else None,
            enqueue_rate=round(enqueue.get("rate", 0), 1), enqueue_latency_ms=enqueue.get("latency_ms"),
            drain_after_enqueue_s=round((receiver.get("last_at") or 0) - meta.get("enqueue_finished_at", 0), 2))
        # deliveries made while the API was still taking pings, and after: the single SQLite writer is shared
        at_end = _load(os.path.join(directory, "receiver-at-enqueue-end.json")) or {}
        during = at_end.get("unique")
        t1 = at_end.get("now") or meta.get("enqueue_finished_at")  # when that count was taken
        if during is not None and t0 and t1 and receiver.get("last_at"):
            result["rate_while_enqueuing"] = round(during / (t1 - t0), 1)
            after = receiver["last_at"] - t1
            result["rate_after_enqueue"] = round((delivered - during) / after, 1) if after > 0 else None
        _add_cpu(result, directory, delivered, key="hub_cpu_us_per_delivery")
    if name == "curl_fanout":
        fanout = _load(os.path.join(directory, "fanout.json")) or {}
        rounds = fanout.get("rounds", [])
        if rounds:
            warm = rounds[1:] or rounds
            best = min(warm, key=lambda r: r["seconds"])
            result.update(
                throughput=round(best["rate"], 1), unit="req/s", latency_ms=best["latency_ms"],
                batch_seconds_cold=round(rounds[0]["seconds"], 3), batch_seconds_warm=round(best["seconds"], 3),
                client_cpu_seconds=[round(r["cpu_seconds"], 3) for r in rounds],
                rounds=rounds, peak_rss_mb=fanout.get("peak_rss_mb"), client_threads=fanout.get("threads"),
                rss_of="hubbench (the client)")
            reference = _wrk(os.path.join(directory, "wrk-reference.out"))
            if reference:
                result["reference_wrk"] = {"throughput": round(reference["throughput"], 1),
                                           "latency_ms": reference["latency_ms"]}
                result["ratio_to_reference"] = round(best["rate"] / reference["throughput"], 2)
        server = (_load(os.path.join(directory, "server-before.json")),
                  _load(os.path.join(directory, "server-after.json")))
        if all(server):
            result["server_cpu_seconds"] = round(server[1]["cpu_seconds"] - server[0]["cpu_seconds"], 2)
    if name == "bulk_ingest":
        bulk = _load(os.path.join(directory, "bulk.json")) or {}
        rates = [c["rate"] for c in bulk.get("chunks", [])]
        result.update(
            throughput=bulk.get("rate"), unit="results/s", requests=bulk.get("created"),
            error_count=bulk.get("rejected", 0), chunk_rates=rates)
        _add_cpu(result, directory, bulk.get("created"))
    if name in ("stow", "exam_attach"):
        # hubbench's closed-loop summaries: a rate, latencies and the rate per window of completions
        loop = _load(os.path.join(directory, "stow.json" if name == "stow" else "submit.json")) or {}
        result.update(
            throughput=round(loop.get("rate", 0), 1), unit="instances/s" if name == "stow" else "submissions/s",
            latency_ms=loop.get("latency_ms"), requests=loop.get("requested"),
            error_count=loop.get("requested", 0) - loop.get("ok", 0), window=loop.get("window"),
            window_rates=[round(r, 1) for r in loop.get("window_rates", [])])
        if name == "stow":
            result["instance_bytes"] = loop.get("instance_bytes")
        else:
            result.update(megabytes_per_second=round(loop.get("megabytes_per_second", 0), 1),
                          attachment_bytes=loop.get("attachment_bytes"))
        _add_cpu(result, directory, loop.get("ok"))
    if name == "hl7_oru":
        one = _load(os.path.join(directory, "oru-1.json")) or {}
        four = _load(os.path.join(directory, "oru-4.json")) or {}
        result.update(
            throughput=round(four.get("results_per_second", 0), 1), unit="results/s",
            latency_ms=four.get("latency_ms"), requests=one.get("requested", 0) + four.get("requested", 0),
            error_count=one.get("requested", 0) - one.get("ok", 0) + four.get("requested", 0) - four.get("ok", 0),
            one_connection={"results_per_second": round(one.get("results_per_second", 0), 1),
                            "messages_per_second": round(one.get("rate", 0), 1), "latency_ms": one.get("latency_ms"),
                            "window_rates": [round(r, 1) for r in one.get("window_rates", [])]},
            four_connections={"results_per_second": round(four.get("results_per_second", 0), 1),
                              "messages_per_second": round(four.get("rate", 0), 1),
                              "latency_ms": four.get("latency_ms"),
                              "window_rates": [round(r, 1) for r in four.get("window_rates", [])]},
            first_problem=one.get("first_problem") or four.get("first_problem"))
        middle = _load(os.path.join(directory, "proc-middle.json"))
        after = _load(os.path.join(directory, "proc-after.json"))
        cpu = _cpu_per_request(middle, after, (four.get("ok") or 0) * 5)
        if cpu is not None:
            result["hub_cpu_us_per_result"] = cpu
    if name == "qido":
        studies = _load(os.path.join(directory, "studies.json")) or {}
        instances = _load(os.path.join(directory, "instances.json")) or {}
        worst = max((studies, instances), key=lambda r: (r.get("latency_ms") or {}).get("p99") or 0)
        result.update(
            throughput=round(min(studies.get("rate", 0), instances.get("rate", 0)), 1), unit="queries/s",
            latency_ms=worst.get("latency_ms"), studies_query=studies, instances_query=instances,
            requests=studies.get("sent", 0) + instances.get("sent", 0),
            error_count=studies.get("unexpected", 0) + studies.get("transport_errors", 0)
            + instances.get("unexpected", 0) + instances.get("transport_errors", 0))
    if name == "federated_check":
        federated = _load(os.path.join(directory, "federated.json")) or {}
        local = _load(os.path.join(directory, "local.json")) or {}
        result.update(
            throughput=round(federated.get("rate", 0), 1), unit="checks/s", latency_ms=federated.get("latency_ms"),
            requests=federated.get("sent"),
            error_count=federated.get("unexpected", 0) + federated.get("transport_errors", 0),
            local_latency_ms=local.get("latency_ms"), local_rate=round(local.get("rate", 0), 1),
            one_dead_latency_ms=(_load(os.path.join(directory, "one-dead.json")) or {}).get("latency_ms"))
        _add_cpu(result, directory, federated.get("sent"))
    if name == "startup":
        runs = {"empty": [], "seeded": [], "results": []}
        for file in sorted(os.listdir(directory)):
            match = re.match(r"startup-(empty|seeded|results)-\d+\.json$", file)
            if match:
                runs[match.group(1)].append(_load(os.path.join(directory, file)))
        startup = {}
        for kind, items in runs.items():
            values = sorted(r["ready_ms"] for r in items if r)
            if values:
                startup[f"{kind}_median"] = values[len(values) // 2]
                startup[f"{kind}_max"] = values[-1]
                startup[f"{kind}_runs"] = values
        stops = []
        for file in sorted(os.listdir(directory)):
            if re.match(r"stop-(empty|seeded|results)-\d+\.json$", file):
                stops.append((_load(os.path.join(directory, file)) or {}).get("stop_ms"))
        stops = sorted(s for s in stops if s is not None)
        if stops:
            startup["stop_median"] = stops[len(stops) // 2]
            startup["stop_max"] = stops[-1]
            startup["stop_runs"] = stops
        rss = [r.get("peak_rss_mb") for items in runs.values() for r in items if r and r.get("peak_rss_mb")]
        result.update(startup_ms=startup, peak_rss_mb=max(rss) if rss else None,
                      seeded_institutions=meta.get("seeded_institutions"), store_mb=meta.get("store_mb"))
    return result


def _fmt(value, digits=1):
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _notes(r):
    if r["status"] == "unavailable":
        return "not yet available: " + (r.get("reason") or "")
    if r["status"] != "ok":
        return f"FAILED: {r.get('reason') or 'see the log'}"
    name = r["scenario"]
    notes = []
    if r.get("error_count"):
        notes.append(f"{r['error_count']} failed requests (median run: {r['errors']})")
    if len(r.get("throughput_runs") or []) > 1:
        notes.append(f"median of {len(r['throughput_runs'])} runs, in order: "
                     + " / ".join(f"{t:,.0f}" for t in r["throughput_runs"]))
    if name == "exam_submit" and r.get("exams_submitted"):
        notes.append(f"{r['exams_submitted']:,} exams open at the end (warm-up included)")
    if name == "registry_read":
        notes.append(f"{r['parameters'].get('institutions', '?'):,} institutions")
    if name == "catalog_lookup":
        notes.append(f"{r.get('codes')} codes")
        if r.get("unreachable_codes"):
            notes.append(f"left out, GET /v1/catalog/items answers no 200 for: {', '.join(r['unreachable_codes'])}")
    if name == "registry_create":
        notes.append(f"{r.get('requests', 0):,} POSTs, {r['parameters'].get('concurrency')} in flight")
    if name == "outbox_delivery":
        burst = r.get("burst_latency_ms") or {}
        notes.append(f"burst: {r.get('deliveries', 0):,} pings to {r['parameters'].get('destinations')} receivers "
                     f"delivered in {_fmt(r.get('seconds'), 2)} s (enqueued at {_fmt(r.get('enqueue_rate'), 0)}/s; "
                     f"{_fmt(r.get('rate_while_enqueuing'), 0)}/s delivered while enqueuing, "
                     + (f"{_fmt(r.get('rate_after_enqueue'), 0)}/s after; " if r.get("rate_after_enqueue")
                        else "all delivered by its end; ") +
                     f"enqueue→receipt p50 {_fmt(burst.get('p50'), 0)} ms); latency columns: "
                     f"{r['parameters'].get('paced_rate')} pings/s, enqueue→receipt; repeats {r.get('repeats')}, "
                     f"bad signatures {r.get('bad_signatures')}, dead {r.get('dead')}")
    if name == "curl_fanout" and r.get("rounds"):
        notes.append(f"{r['rounds'][0]['requests']:,} in flight: cold batch {r['batch_seconds_cold']:.2f} s, warm "
                     f"{r['batch_seconds_warm']:.2f} s (hold 200 ms); wrk -c1000 same server "
                     f"{_fmt((r.get('reference_wrk') or {}).get('throughput'), 0)} req/s; RSS is the client's")
    if name == "bulk_ingest" and r.get("chunk_rates"):
        rates = r["chunk_rates"]
        notes.append(f"{r.get('requests', 0):,} results over {r['parameters'].get('patients', 0):,} patients in "
                     f"{len(rates)} requests; first {rates[0]:,.0f}/s, last {rates[-1]:,.0f}/s")
    if name == "recognition_check":
        notes.append(f"{r['parameters'].get('results', 0):,} results over {r['parameters'].get('patients', 0):,} "
                     "patients, random patient each check")
    if name == "stow" and r.get("window_rates"):
        notes.append(f"{r.get('requests', 0):,} instances of {r.get('instance_bytes', 0):,} bytes, one per request; "
                     f"rate per {r.get('window'):,}: " + " / ".join(f"{w:,.0f}" for w in r["window_rates"]))
    if name == "exam_attach" and r.get("window_rates"):
        notes.append(f"{r.get('requests', 0):,} exams, each with a DICOM attachment of {r.get('attachment_bytes', 0):,} "
                     f"bytes ({_fmt(r.get('megabytes_per_second'), 0)} MB/s), {r['parameters'].get('concurrency')} in "
                     f"flight; rate per {r.get('window'):,}: " + " / ".join(f"{w:,.0f}" for w in r["window_rates"]))
    if name == "hl7_oru" and r.get("one_connection"):
        one, four = r["one_connection"], r["four_connections"]
        notes.append(f"1 connection {one['results_per_second']:,.0f} results/s ({one['messages_per_second']:,.0f} "
                     f"messages/s, p99 {_fmt((one.get('latency_ms') or {}).get('p99'), 1)} ms); 4 connections "
                     f"{four['results_per_second']:,.0f} results/s (p99 {_fmt((four.get('latency_ms') or {}).get('p99'), 1)} ms); "
                     f"hub CPU {_fmt(r.get('hub_cpu_us_per_result'), 0)} µs/result")
        if r.get("first_problem"):
            notes.append(f"first problem: {r['first_problem']}")
    if name == "qido" and r.get("studies_query"):
        s, i = r["studies_query"].get("latency_ms") or {}, r["instances_query"].get("latency_ms") or {}
        notes.append(f"{r['parameters'].get('instances', 0):,} instances indexed; studies by PatientID "
                     f"{_fmt(r['studies_query'].get('rate'), 0)}/s p50 {_fmt(s.get('p50'), 1)} ms p99 "
                     f"{_fmt(s.get('p99'), 1)} ms; a series' instances {_fmt(r['instances_query'].get('rate'), 0)}/s "
                     f"p50 {_fmt(i.get('p50'), 1)} ms p99 {_fmt(i.get('p99'), 1)} ms")
    if name == "federated_check" and r.get("latency_ms"):
        p = r["parameters"]
        local = r.get("local_latency_ms") or {}
        notes.append(f"{p.get('peers')} peers each answering in {p.get('peer_delay_ms')} ms, one check at a time; "
                     f"the same checks without peers: p50 {_fmt(local.get('p50'), 1)} ms, "
                     f"p99 {_fmt(local.get('p99'), 1)} ms; one peer frozen (timeout {p.get('peer_timeout_ms')} ms, "
                     f"deadline {p.get('deadline_ms')} ms): p50 "
                     f"{_fmt((r.get('one_dead_latency_ms') or {}).get('p50'), 0)} ms, max "
                     f"{_fmt((r.get('one_dead_latency_ms') or {}).get('max'), 0)} ms")
    if name == "startup":
        s = r.get("startup_ms", {})
        notes.append(f"empty {_fmt(s.get('empty_median'), 0)} ms (max {_fmt(s.get('empty_max'), 0)}), "
                     f"seeded with {r.get('seeded_institutions') or '?'} institutions "
                     f"{_fmt(s.get('seeded_median'), 0)} ms (max {_fmt(s.get('seeded_max'), 0)}), "
                     f"with {r['parameters'].get('results', 0):,} results ({r.get('store_mb') or '?'} MB) "
                     f"{_fmt(s.get('results_median'), 0)} ms (max {_fmt(s.get('results_max'), 0)}); "
                     f"stop on SIGTERM {_fmt(s.get('stop_median'), 0)} ms (max {_fmt(s.get('stop_max'), 0)})")
    cpu = r.get("hub_cpu_us_per_request") or r.get("hub_cpu_us_per_delivery")
    if cpu:
        notes.append(f"hub CPU {cpu:,.0f} µs/op")
    if (r.get("load_at_start") or 0) >= 1.5:
        notes.append(f"busy machine: load {r['load_at_start']:.1f} at start")
    return "; ".join(notes)


def cmd_report(args):
    meta = _load(os.path.join(args.raw, "run.json")) or {}
    results = []
    for name in args.scenarios:
        results.append(_scenario(os.path.join(args.raw, name), name))
    baseline = next((r for r in results if r["scenario"] == "baseline" and r.get("throughput")), None)
    for r in results:
        if (baseline and r is not baseline and r.get("unit") == "req/s" and r.get("throughput")
                and r["scenario"] in HTTP_SCENARIOS):
            r["ratio"] = round(r["throughput"] / baseline["throughput"], 3)
    targets = []
    for scenario, what, check in TARGETS:
        for r in results:
            if scenario not in ("*", r["scenario"]) or r["status"] != "ok":
                continue
            if scenario == "*" and r["scenario"] == "curl_fanout":
                continue  # that RSS is the client's, not the hub's
            outcome = check(r)
            if outcome is None:
                continue
            measured, passed = outcome
            label = f"{r['scenario']}: {what}"
            targets.append({"scenario": r["scenario"], "target": label, "measured": measured,
                            "result": "pass" if passed else "miss"})
    document = dict(meta)
    document["scenarios"] = results
    document["targets"] = targets
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")

    header = ["scenario", "client", "throughput", "vs baseline", "p50 ms", "p95 ms", "p99 ms", "peak RSS MB",
              "notes"]
    rows = []
    for r in results:
        lat = r.get("latency_ms") or {}
        rows.append([
            r["scenario"], r.get("client") or "—",
            f"{_fmt(r.get('throughput'), 0)} {r.get('unit', '')}".strip() if r.get("throughput") else "—",
            _fmt(r.get("ratio"), 2) if r.get("ratio") is not None else ("1.00" if r is baseline else "—"),
            _fmt(lat.get("p50"), 2), _fmt(lat.get("p95"), 2), _fmt(lat.get("p99"), 2),
            _fmt(r.get("peak_rss_mb"), 0), _notes(r)])
    machine = meta.get("machine", {})
    lines = [f"AllianceHub benchmarks — {meta.get('mode', '?')} mode, {meta.get('date', '?')}, "
             f"commit {meta.get('commit', '?')}",
             f"machine: {machine.get('cores', '?')} cores, {machine.get('memory_gib', '?')} GiB, "
             f"{machine.get('cpu', '?')}, load at start {machine.get('load_at_start', '?')}"]
    disk = [f"{moment} median {probe['median_us']} µs (p99 {probe['p99_us']})"
            for moment, probe in (("at start", machine.get("disk_start")), ("at end", meta.get("disk_end")))
            if isinstance(probe, dict) and "median_us" in probe]
    if disk:
        lines.append("disk: fdatasync of 4 KiB in the data folder, " + "; ".join(disk))
    lines.append("")
    if args.markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header[:-1])]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  notes")
        lines.append("  ".join("-" * w for w in widths) + "  -----")
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    lines.append("")
    lines.append("targets:" if not args.markdown else "| target | measured | result |")
    if args.markdown:
        lines.append("|---|---|---|")
    for t in targets:
        if args.markdown:
            lines.append(f"| {t['target']} | {t['measured']} | {t['result']} |")
        else:
            lines.append(f"  [{t['result']:4}] {t['target']}: {t['measured']}")
    print("\n".join(lines))


HTTP_SCENARIOS = {"registry_read", "catalog_lookup", "exam_submit", "recognition_check", "qido", "federated_check"}


# -------------------------------------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("wait-ready")
    p.add_argument("--log", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--t0-ns", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_wait_ready)

    p = sub.add_parser("proc")
    p.add_argument("--pid", type=int, required=True)
    p.set_defaults(func=cmd_proc)

    p = sub.add_parser("request")
    p.add_argument("method")
    p.add_argument("url")
    p.add_argument("--token")
    p.add_argument("--body")
    p.add_argument("--expect", type=int, action="append", default=None)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(func=cmd_request)

    p = sub.add_parser("bulk-load")
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--patients", type=int, required=True)
    p.add_argument("--chunk", type=int, default=50000)
    p.set_defaults(func=cmd_bulk_load)

    p = sub.add_parser("catalog-codes")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--equivalents", action="store_true")
    p.set_defaults(func=cmd_catalog_codes)

    p = sub.add_parser("outbox-wait")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--receiver", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=300)
    p.set_defaults(func=cmd_outbox_wait)

    p = sub.add_parser("meta")
    p.add_argument("dir")
    p.add_argument("pairs", nargs="*")
    p.set_defaults(func=cmd_meta)

    p = sub.add_parser("disk-probe")
    p.add_argument("dir")
    p.add_argument("--count", type=int, default=500)
    p.set_defaults(func=cmd_disk_probe)

    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("scenarios", nargs="+")
    p.set_defaults(func=cmd_report)

    args = parser.parse_args()
    if getattr(args, "expect", None) is None and args.command == "request":
        args.expect = [200, 201, 202]
    args.func(args)


if __name__ == "__main__":
    main()
