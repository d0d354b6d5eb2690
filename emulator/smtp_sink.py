"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd): STARTTLS required, AUTH
required when --user is given, every message stored as <n>.eml in --out-dir.

Prints `READY <port>` when listening; exits when its standard input closes (the test ended).
"""

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        header = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-TLS: {'yes' if session.ssl else 'no'}\r\n"
            f"X-Sink-Auth: {session.authenticated and 'yes' or 'no'}\r\n"
        )
        path = self.out_dir / f"{self.count}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(header.encode() + envelope.original_content)
        tmp.rename(path)  # a reader never sees half a message
        return "250 Message accepted for delivery"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == user and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd itself answers 535 (the default means "already answered").
        return AuthResult(success=ok, handled=False)

    return check


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    handler = Store(args.out_dir)
    loop = asyncio.get_running_loop()

    def factory():
        return SMTP(
            handler,
            hostname="sink.localhost",
            tls_context=context,
            require_starttls=True,
            auth_required=args.user is not None,
            auth_require_tls=True,
            authenticator=authenticator(args.user, args.password) if args.user else None,
        )

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    # Until the parent closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
