#!/usr/bin/env python3
"""Drives the web console in a real headless Chromium over the Chrome DevTools Protocol.

Usage: console_driver.py PLAN.json RESULT.json

The plan names the Chromium binary, the hub's base URL, the folder for screenshots and the scenario with the
tokens and records it needs (ConsoleTests.swift writes it). The result lists every console error, exception and
failed load Chromium reported, what each page showed, and the screenshots written. Standard library only: the
WebSocket client below speaks just what the DevTools endpoint on loopback needs.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text frames in, ping answered."""

    def __init__(self, url, timeout=30):
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the DevTools endpoint closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the DevTools endpoint closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self, timeout):
        """The next text message, or None when none arrives within `timeout` seconds."""
        self.sock.settimeout(timeout)
        message = b""
        try:
            while True:
                first, second = self._read(2)
                opcode, fin = first & 0x0F, first & 0x80
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack(">H", self._read(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", self._read(8))[0]
                mask = self._read(4) if second & 0x80 else None
                payload = self._read(length)
                if mask:
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                    continue
                if opcode == 0x8:
                    raise ConnectionError("the DevTools endpoint closed the WebSocket")
                if opcode in (0x0, 0x1, 0x2):
                    message += payload
                    if fin:
                        return message.decode()
        except socket.timeout:
            if message:
                raise
            return None
        finally:
            self.sock.settimeout(None)


class Page:
    """One tab, attached with a flat session; collects what the console reports."""

    def __init__(self, ws, session):
        self.ws = ws
        self.session = session
        self.next_id = 0
        self.errors = []
        self.phase = "start"
        self.expected_refusals = False

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        call_id = self.next_id
        message = {"id": call_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method} got no answer in {timeout} s")
            raw = self.ws.recv(left)
            if raw is None:
                continue
            answer = json.loads(raw)
            if answer.get("id") == call_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.event(answer)

    def event(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.errors.append({"phase": self.phase, "source": "console", "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.errors.append({"phase": self.phase, "source": "exception", "text": text})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                refused = entry.get("source") == "network" and self.expected_refusals
                self.errors.append(
                    {
                        "phase": self.phase,
                        "source": entry.get("source", "log"),
                        "text": f"{entry.get('text', '')} {entry.get('url', '')}".strip(),
                        "expected": refused,
                    }
                )

    def evaluate(self, expression, timeout=30):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(
                f"evaluating {expression[:80]!r}: {details.get('exception', {}).get('description', details)}"
            )
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=15, what=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass  # the page may be between documents
            time.sleep(0.05)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 1500) : ''")
        raise TimeoutError(f"waited {timeout} s for {what or expression}; the page shows:\n{text}")

    def open(self, url, phase):
        """Loads a console page and waits until it has rendered (`data-state` is no longer `loading`)."""
        self.phase = phase
        self.call("Page.navigate", {"url": url})
        self.wait_for(
            "document.readyState === 'complete' && document.body"
            " && ['ready', 'error'].includes(document.body.dataset.state)"
            " && !document.querySelector('main').innerText.includes('Loading…')",
            what=f"{url} to render",
        )

    def screenshot(self, path):
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = min(int(size["height"]) + 1, 6000)
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1},
            },
        )
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        return path

    def set_token(self, base, token):
        """Keeps `token` in the tab's session storage, as the sign-in form does; a blank tab opens the console first
        (it asks for a token and calls nothing)."""
        if self.evaluate("location.origin") != base:
            self.open(f"{base}/console/", "sign-in")
        self.evaluate(f"sessionStorage.setItem('alliancehub.console.token', {json.dumps(token)})")

    def text(self, selector="main"):
        return self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText")

    def click(self, selector, what=None):
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})", what=what or selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def type(self, selector, value):
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})", what=selector)
        self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )


def start_browser(binary, profile):
    """Starts Chromium on a free DevTools port in its own profile; answers (process, browser WebSocket URL)."""
    environment = dict(os.environ, TZ="Asia/Shanghai")
    process = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "--lang=zh-CN",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1400,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(profile, "chromium.log"), "wb"),
        env=environment,
    )
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if len(lines) >= 2:
                return process, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            break
        time.sleep(0.05)
    log = open(os.path.join(profile, "chromium.log"), errors="replace").read()[-3000:]
    raise RuntimeError(f"Chromium did not open its DevTools port:\n{log}")


def open_tab(ws):
    browser = Page(ws, None)
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    page = Page(ws, session)
    page.next_id = 1000
    for domain in ("Page", "Runtime", "Log"):
        page.call(f"{domain}.enable")
    page.call(
        "Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
    )
    return page


def tour(page, plan, result):
    """Signs in through the token form, then loads and photographs every page with real data on it. Each page may be
    on its own hub (`bases`) and use its own token; the overview and the worklist share the operator's."""
    base, shots, tokens = plan["base_url"], plan["screenshots"], plan["tokens"]
    bases = plan.get("bases", {})
    home = bases.get("overview", base)
    page.open(f"{home}/console/", "sign-in")
    result["pages"]["sign-in"] = {"text": page.text()}
    page.screenshot(os.path.join(shots, "00-sign-in.png"))
    page.type("#token-input", tokens["operator"])
    page.phase = "overview"
    page.evaluate("document.getElementById('token-form').requestSubmit()")
    time.sleep(0.2)
    page.wait_for(
        "document.readyState === 'complete' && document.body && document.body.dataset.state === 'ready'"
        " && !!document.querySelector('#who button') && !document.querySelector('main').innerText.includes('Loading…')",
        what="the overview after signing in",
    )
    record(page, result, "overview", "01-overview.png", plan)

    worklist = bases.get("worklist", base)
    page.set_token(worklist, tokens["operator"])
    page.open(f"{worklist}/console/worklist.html?center={plan['center']}", "worklist")
    page.click(f"button.open[data-exam-id='{plan['exam_with_dicom']}']", "the exam with a DICOM attachment")
    page.wait_for("!!document.querySelector('#exam-detail .dicom-tags')", what="the DICOM tags")
    record(page, result, "worklist", "02-worklist.png", plan)

    recognition = bases.get("recognition", base)
    page.set_token(recognition, tokens["clinician"])
    page.open(f"{recognition}/console/recognition.html", "recognition")
    page.type("#patient", plan["patient"])
    page.type("#item-code", plan["item_code"])
    page.evaluate("document.getElementById('federated').checked = true")
    page.click("#run-check")
    page.wait_for("!!document.querySelector('#candidates') && !!document.querySelector('#decision-form')",
                  what="the candidates")
    page.click("#record-decision")
    page.wait_for("!!document.querySelector('#decision-recorded')", what="the recorded decision")
    record(page, result, "recognition", "03-recognition.png", plan)

    stats = bases.get("stats", base)
    page.set_token(stats, tokens.get("auditor", tokens["operator"]))
    page.open(f"{stats}/console/stats.html", "stats")
    page.wait_for("!!document.querySelector('#rate-chart circle')", what="the rate chart's points")
    href = page.evaluate("document.getElementById('csv-export').getAttribute('href')")
    result["csv"] = urllib.parse.unquote(href.split(",", 1)[1]).lstrip("\ufeff")
    result["rate_points"] = page.evaluate("document.querySelectorAll('#rate-chart circle').length")
    result["savings_bars"] = page.evaluate(
        "[...document.querySelectorAll('#savings-chart rect')].filter(r => Number(r.getAttribute('width')) > 0).length"
    )
    record(page, result, "stats", "04-stats.png", plan)


def round_trip(page, plan, result):
    """Claim, report with a critical value, a refused self-verification, then the second signature."""
    base, shots, exam = plan["base_url"], plan["screenshots"], plan["exam"]
    page.set_token(base, plan["tokens"]["author"])
    page.open(f"{base}/console/worklist.html", "claim")
    page.click(f"[data-list='queue'] button.open[data-exam-id='{exam}']", "the exam in the queue")
    page.click("button[data-action='claim']")
    page.wait_for("document.getElementById('exam-step').textContent === 'claimed'", what="the claim")
    page.phase = "report"
    page.type("#findings", plan["findings"])
    page.type("#conclusion", plan["conclusion"])
    page.type("#critical-values", plan["critical_value"])
    page.click("button[data-action='report']")
    page.wait_for(
        "document.getElementById('exam-step').textContent === 'awaiting-verification'", what="the written report"
    )
    # The author also holds the verifier role: the hub must refuse the second signature, and the page must say why.
    page.phase = "self-verify"
    page.expected_refusals = True
    page.click("button[data-action='verify']")
    page.wait_for("!!document.querySelector('#action-status .problem')", what="the refusal")
    result["refusal"] = {
        "code": page.evaluate("document.querySelector('#action-status .problem').dataset.code"),
        "text": page.text("#action-status"),
    }
    page.screenshot(os.path.join(shots, "05-worklist-refused.png"))
    page.expected_refusals = False

    page.set_token(base, plan["tokens"]["verifier"])
    page.open(f"{base}/console/worklist.html?exam={urllib.parse.quote(exam)}", "verify")
    page.wait_for("!!document.querySelector(\"button[data-action='verify']\")", what="the verify button")
    page.click("button[data-action='verify']")
    page.wait_for("document.getElementById('exam-step').textContent === 'final'", what="the final report")
    result["final_text"] = page.text("#exam-detail")
    page.screenshot(os.path.join(shots, "06-worklist-final.png"))


def record(page, result, name, file, plan):
    result["pages"][name] = {
        "state": page.evaluate("document.body.dataset.state"),
        "text": page.text(),
        "title": page.evaluate("document.title"),
    }
    result["screenshots"].append(page.screenshot(os.path.join(plan["screenshots"], file)))


def main():
    plan = json.load(open(sys.argv[1]))
    result = {"errors": [], "pages": {}, "screenshots": []}
    os.makedirs(plan["screenshots"], exist_ok=True)
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    process = None
    try:
        process, url = start_browser(plan["chromium"], profile)
        ws = WebSocket(url)
        page = open_tab(ws)
        {"tour": tour, "round-trip": round_trip}[plan["scenario"]](page, plan, result)
        time.sleep(0.2)
        page.call("Runtime.evaluate", {"expression": "1"})  # collects events still in flight
        result["errors"] = page.errors
        result["ok"] = True
    except Exception as error:  # reported to the Swift test, which fails with it
        result["ok"] = False
        result["failure"] = f"{type(error).__name__}: {error}"
        try:
            result["errors"] = page.errors
            result["screenshots"].append(page.screenshot(os.path.join(plan["screenshots"], "failure.png")))
        except Exception:
            pass
    finally:
        if process:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(profile, ignore_errors=True)
        json.dump(result, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
