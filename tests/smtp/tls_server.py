#!/usr/bin/env python3
"""A real SMTP server with TLS and AUTH for Herald's tests (aiosmtpd from PyPI).

  tls_server.py --port P --cert CERT --key KEY --mode starttls|tls --user U --password PW --dump DIR

starttls: plain connection that must be upgraded before MAIL or AUTH (require_starttls).
tls:      TLS from the first byte (implicit TLS, like port 465).
AUTH PLAIN/LOGIN is required; a wrong password gets 535. Each accepted message is written to
DIR as one file. Prints "ready" on stdout once listening.
"""
import argparse
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import testserver


class Dump:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        testserver.keep(self.folder, envelope, "X-Auth: " + str(session.authenticated))
        return "250 OK stored"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", choices=["starttls", "tls"], required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--dump", required=True)
    a = p.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        # handled=False lets aiosmtpd answer 535 for a failure.
        return AuthResult(success=ok, handled=False)

    # aiosmtpd warns that AUTH without required TLS is risky; with implicit TLS the whole
    # connection is encrypted, which it cannot see.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    common = dict(
        hostname="127.0.0.1",
        port=a.port,
        authenticator=authenticator,
        auth_required=True,
        # With implicit TLS aiosmtpd does not see the connection as TLS and would hide AUTH;
        # the whole connection is encrypted there anyway.
        auth_require_tls=(a.mode == "starttls"),
    )
    if a.mode == "starttls":
        controller = Controller(Dump(a.dump), tls_context=ctx, require_starttls=True, **common)
    else:
        controller = Controller(Dump(a.dump), ssl_context=ctx, **common)
    testserver.serve(controller)


if __name__ == "__main__":
    sys.exit(main())
