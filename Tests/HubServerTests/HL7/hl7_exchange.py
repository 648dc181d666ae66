"""Sends HL7 v2 messages to an MLLP listener with python-hl7's client and prints, as one JSON object per line, what
python-hl7's parser reads in each acknowledgement: MSA-1, MSA-2, MSA-3, the MSH fields echoed, every ERR segment, and
every segment as text (a query's answer: QAK, QPD, PID).

    python3 hl7_exchange.py HOST PORT FILE...

Each FILE holds one message (segments separated by carriage returns) in the bytes to send."""

import json
import sys

import hl7
from hl7.client import MLLPClient


def charset(ack: bytes) -> str:
    first = ack.split(b"\r", 1)[0]
    fields = first.split(b"|")
    declared = fields[17].decode("ascii", "replace") if len(fields) > 17 else ""
    return "gb18030" if declared.replace(" ", "").upper() == "GB18030" else "utf-8"


def field(segment, number: int) -> str:
    try:
        return str(segment[number])
    except IndexError:
        return ""


def main() -> None:
    host, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with MLLPClient(host, port) as client:
        # A hub that does not answer fails the test instead of holding it.
        client.socket.settimeout(60)
        for name in files:
            with open(name, "rb") as f:
                raw = client.send_message(f.read())
            text = raw.decode(charset(raw))
            message = hl7.parse(text)
            msh, msa = message.segment("MSH"), message.segment("MSA")
            errors = []
            for err in message.segments("ERR") if "ERR" in [str(s[0]) for s in message] else []:
                errors.append(
                    {
                        "location": field(err, 2),
                        "code": str(err[3][0][0]) if len(err) > 3 else "",
                        "severity": field(err, 4),
                        "message": field(err, 8),
                    }
                )
            print(
                json.dumps(
                    {
                        "code": field(msa, 1),
                        "control_id": field(msa, 2),
                        "text": field(msa, 3),
                        "type": field(msh, 9),
                        "receiving_application": field(msh, 5),
                        "charset": field(msh, 18),
                        "errors": errors,
                        "raw": raw.decode("latin-1"),
                        "segments": [str(segment) for segment in message],
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
