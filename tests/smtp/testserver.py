"""What Herald's test SMTP servers share (imported by fault_server.py and tls_server.py, which
Python runs with this folder on its path)."""
import os
import time
import uuid


def keep(folder, envelope, *headers):
    """Writes a received message to FOLDER as one file: "X-Rcpt: ADDRESSES", then HEADERS
    (each "Name: value"), then the message as it arrived. Whole files only, through a rename,
    since a test may count the folder at any moment."""
    name = os.path.join(folder, uuid.uuid4().hex)
    with open(name + ".tmp", "wb") as f:
        f.write(("X-Rcpt: " + ",".join(envelope.rcpt_tos) + "\n").encode())
        for h in headers:
            f.write((h + "\n").encode())
        f.write(envelope.original_content or envelope.content)
    os.rename(name + ".tmp", name)


def serve(controller):
    """Starts an aiosmtpd controller, says "ready" on stdout (the tests wait for it) and runs
    until interrupted or killed."""
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
