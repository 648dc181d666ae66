"""A hospital system that receives HL7 v2 messages over MLLP, on python-hl7's asyncio server: it writes the port it
listens on (loopback, chosen by the system) to PORTFILE, and appends one JSON object a line to OUTFILE for each
message: the code it answered and every segment as text. It answers the first REFUSE messages with CODE (AR or AE),
then AA, with python-hl7's own acknowledgement.

    python3 hl7_receiver.py PORTFILE OUTFILE [REFUSE [CODE]]
"""

import asyncio
import json
import sys

from hl7.mllp import start_hl7_server


async def main() -> None:
    port_file, out_file = sys.argv[1], sys.argv[2]
    refuse = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    refusal = sys.argv[4] if len(sys.argv) > 4 else "AR"
    count = 0
    out = open(out_file, "a", encoding="utf-8")

    async def handle(reader, writer):
        nonlocal count
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                count += 1
                code = refusal if count <= refuse else "AA"
                out.write(json.dumps({"code": code, "segments": [str(s) for s in message]}, ensure_ascii=False))
                out.write("\n")
                out.flush()
                writer.writemessage(message.create_ack(ack_code=code))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await start_hl7_server(handle, host="127.0.0.1", port=0, encoding="utf-8")
    with open(port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
