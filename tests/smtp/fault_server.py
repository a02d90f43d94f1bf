#!/usr/bin/env python3
"""An SMTP server that misbehaves on purpose, by recipient, for Herald's fault tests (aiosmtpd).

  fault_server.py --port P --dump DIR [--slow SECONDS] [--stall SECONDS]

The local part of each recipient starts with a tag that says what happens to its mail, so one
batch can hold every kind of fault and each invitation's fate is known in advance:

  ok-...     accepted.
  softN-...  RCPT answered 451 the first N times, then accepted.
  hard-...   RCPT answered 550, every time.
  drop-...   the first time, the connection is cut after the message data arrives, before any
             reply, and the message is thrown away; accepted afterwards.
  lost-...   the same, but the message is kept: the server has it and the client cannot know,
             so the retry is a duplicate (the one the outbox promises at most).
  slow-...   the reply to the message data comes after --slow seconds (default 3).
  stall-...  the first time, RCPT is answered only after --stall seconds (default 35, longer
             than Herald's 30 s SMTP timeout); accepted afterwards.

Every message kept is written to DIR as one file that starts with "X-Rcpt: ADDRESS". The
fault counters live in this process: restart it and every fault happens again. Prints "ready"
on stdout once listening. Plain SMTP on 127.0.0.1, no AUTH.
"""
import argparse
import asyncio
import collections
import re
import sys

from aiosmtpd.controller import Controller

import testserver

TAG = re.compile(r"^(ok|soft|hard|drop|lost|slow|stall)(\d*)-")


def tag_of(address):
    m = TAG.match(address)
    if not m:
        return "ok", 0
    return m.group(1), int(m.group(2) or 0)


class Faults:
    def __init__(self, dump, slow, stall):
        self.dump = dump
        self.slow = slow
        self.stall = stall
        # How often each address has reached RCPT, and the end of DATA.
        self.rcpt = collections.Counter()
        self.data = collections.Counter()

    def keep(self, envelope):
        testserver.keep(self.dump, envelope)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        tag, n = tag_of(address)
        self.rcpt[address] += 1
        seen = self.rcpt[address]
        if tag == "hard":
            return "550 5.1.1 <%s>: mailbox unavailable (fault test)" % address
        if tag == "soft" and seen <= n:
            return "451 4.3.0 <%s>: try again later (fault test, %d of %d)" % (address, seen, n)
        if tag == "stall" and seen == 1:
            await asyncio.sleep(self.stall)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        address = envelope.rcpt_tos[0]
        tag, _ = tag_of(address)
        self.data[address] += 1
        if tag in ("drop", "lost") and self.data[address] == 1:
            if tag == "lost":
                self.keep(envelope)
            # abort, not close: close would still let the reply below out.
            server.transport.abort()
            return "421 4.4.2 never seen by the client"
        if tag == "slow":
            await asyncio.sleep(self.slow)
        self.keep(envelope)
        return "250 2.0.0 Ok: stored"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dump", required=True)
    p.add_argument("--slow", type=float, default=3.0)
    p.add_argument("--stall", type=float, default=35.0)
    a = p.parse_args()
    controller = Controller(Faults(a.dump, a.slow, a.stall), hostname="127.0.0.1", port=a.port)
    testserver.serve(controller)


if __name__ == "__main__":
    sys.exit(main())
