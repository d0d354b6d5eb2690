"""The server itself: TLS with a local CA, kept-alive connections without Nagle's delay, one
request at a time inside moto, the Smithy RPC v2 CBOR bridge in front of it (CloudWatch), and
moto's dispatcher listing its package once. Nothing here is about one service's behaviour."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import ssl
import threading
from pathlib import Path

from . import iam
from .source import PatchTargetMoved, require_source


def patch_backend_lookup() -> None:
    """moto finds the service of every request by listing its package's directory and stat-ing
    each entry, twice: about 180 system calls a request, a quarter of a GetParameters' time in
    the emulator. The installed package does not change while it serves: listed once."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    require_source(backends.list_of_moto_modules, "os.listdir(path)")
    require_source(
        DomainDispatcherApplication.get_backend_for_host, "backends.list_of_moto_modules()"
    )
    listed = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listed


def keep_alive_handler():
    """werkzeug closes every connection because it cannot tell whether the application read the
    whole request body. Reading each body completely before the application runs removes that
    doubt, so the connection can stay open, as AWS keeps it."""
    import io

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import WSGIRequestHandler

    import werkzeug.serving

    require_source(
        WSGIRequestHandler.run_wsgi,
        'self.send_header("Connection", "close")',
        "selector = selectors.DefaultSelector()",
        "while selector.select(timeout=0.01):",
    )
    require_source(WSGIRequestHandler.make_environ, '"wsgi.input": self.rfile', "DechunkedInput")

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        # werkzeug writes a response's head and body apart: with Nagle's algorithm the body
        # waits for the client's delayed ACK of the head, 40 ms on every answer of a kept-alive
        # connection (AWS answers at once). socketserver sets TCP_NODELAY for this flag.
        disable_nagle_algorithm = True
        timeout = 120  # idle connections close after the SDK's pool has let them go (90 s)

        def make_environ(self):
            environ = super().make_environ()
            if environ.get("wsgi.input_terminated"):
                body = environ["wsgi.input"].read()  # de-chunked to the terminating chunk
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            return environ

        def send_header(self, keyword, value):
            if keyword.lower() == "connection" and value.lower() == "close":
                if self.headers.get("Connection", "").lower() != "close":
                    return  # the body was read whole: the connection can serve the next request
            super().send_header(keyword, value)

    class NothingLeftToDrain:
        """After a response werkzeug reads whatever the socket holds, to discard an unread body;
        on a kept-alive connection that would swallow the next request. Bodies are read whole
        in make_environ, so there is never anything of this request left to discard."""

        def register(self, *_):
            pass

        def select(self, timeout=None):
            return []

        def close(self):
            pass

    answers_at_once(KeepAliveHandler)
    werkzeug.serving.selectors = type(
        "selectors", (), {"DefaultSelector": NothingLeftToDrain, "EVENT_READ": 1}
    )
    return KeepAliveHandler


def answers_at_once(handler) -> None:
    """Fails unless a connection set up by `handler` has Nagle's algorithm off (TCP_NODELAY):
    checked on a real socket, so a socketserver or werkzeug that stopped honouring the flag is
    caught here and not as 40 ms more per request."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname()) as _client:
            connection, _ = server.accept()
            with connection:
                probe = handler.__new__(handler)
                probe.request = connection
                probe.setup()
                if not connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                    raise PatchTargetMoved(
                        f"{handler.__name__}.setup no longer sets TCP_NODELAY on its connections"
                    )
                probe.finish()


def ensure_certificates(state_dir: Path) -> tuple[Path, Path, Path]:
    """A local CA and a server certificate for 127.0.0.1/localhost, made once per state dir."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_pem, cert_pem, key_pem = state_dir / "ca.pem", state_dir / "server.pem", state_dir / "server-key.pem"
    if ca_pem.exists() and cert_pem.exists() and key_pem.exists():
        return ca_pem, cert_pem, key_pem
    state_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ssm-keeper local emulator CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_pem, 0o600)
    cert_pem.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem, cert_pem, key_pem


CBOR_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}


def _jsonable(value):
    """A decoded CBOR request as the JSON protocol carries it (timestamps as epoch seconds)."""
    import base64

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def one_request_at_a_time(app):
    """WSGI middleware: moto's backends are not safe for concurrent requests. A listing
    (DescribeParameters, GetResources) iterates over the region's parameters while a
    PutParameter or DeleteParameter on another thread changes them, and answers 500
    (`dictionary changed size during iteration`): half the listings failed beside a writer, and
    the SDK's retry then waited up to a second. AWS serves reads beside writes. moto runs one
    request at a time; connections, TLS and HTTP parsing stay concurrent (the GIL serialized
    moto's work already)."""
    lock = threading.Lock()

    def middleware(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    return middleware


def cbor_bridge(app):
    """WSGI middleware: `POST /service/<Service>/operation/<Op>` with `smithy-protocol:
    rpc-v2-cbor` becomes the JSON-protocol request moto serves (`X-Amz-Target: <Service>.<Op>`);
    the JSON answer is parsed with the operation's output shape and encoded as CBOR."""
    import io
    import re

    import botocore.session
    from botocore.parsers import JSONParser, RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    require_source(RpcV2CBORSerializer._serialize_type_timestamp, "tag = 1")
    require_source(RpcV2CBORSerializer._get_additional_info_and_num_bytes, "return 24, 1")
    require_source(RpcV2CBORParser.parse_data_item, "initial_byte >> 5")
    session = botocore.session.get_session()
    models = {target: session.get_service_model(name) for target, name in CBOR_SERVICES.items()}
    route = re.compile(r"/service/([A-Za-z0-9]+)/operation/([A-Za-z0-9]+)")

    def text_map(values: dict) -> bytes:
        serializer = RpcV2CBORSerializer()
        out = bytearray()
        info, size = serializer._get_additional_info_and_num_bytes(len(values))
        out += serializer._get_initial_byte(serializer.MAP_MAJOR_TYPE, info)
        out += len(values).to_bytes(size, "big") if size else b""
        for key, value in values.items():
            for item in (key, str(value)):
                serializer._serialize_type_string(out, item, None, None)
        return bytes(out)

    def middleware(environ, start_response):
        found = route.fullmatch(environ.get("PATH_INFO", ""))
        if environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor" or not found:
            return app(environ, start_response)
        target, operation_name = found.groups()
        model = models.get(target)
        if model is None or operation_name not in model.operation_names:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"unknown operation {target}.{operation_name}".encode()]
        operation = model.operation_model(operation_name)
        body = environ["wsgi.input"].read()
        params = {}
        if body:
            parser = RpcV2CBORParser()
            params = _jsonable(parser.parse_data_item(parser.get_peekable_stream_from_bytes(body)))
        json_body = json.dumps(params).encode()
        from werkzeug.datastructures import EnvironHeaders

        signed = ("POST", environ.get("PATH_INFO", ""), body, EnvironHeaders(dict(environ)))
        environ = dict(environ)
        environ.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "CONTENT_LENGTH": str(len(json_body)),
                "HTTP_X_AMZ_TARGET": f"{target}.{operation_name}",
                "wsgi.input": io.BytesIO(json_body),
            }
        )
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        token = iam.signed_request.set(signed)
        try:
            answer = b"".join(app(environ, capture))
        finally:
            iam.signed_request.reset(token)
        status = captured["status"]
        code = int(status.split()[0])
        if code >= 400:
            try:
                error = json.loads(answer or b"{}")
            except ValueError:  # an XML error body (moto's generic errors)
                found_code = re.search(rb"<Code>([^<]+)</Code>", answer)
                found_message = re.search(rb"<Message>([^<]*)</Message>", answer)
                error = {
                    "__type": found_code.group(1).decode() if found_code else "InternalFailure",
                    "message": found_message.group(1).decode() if found_message else "",
                }
            kind = str(error.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
            message = error.get("message", error.get("Message", ""))
            out = text_map({"__type": kind, "message": message})
        elif operation.output_shape is None:
            out = text_map({})
        else:
            parsed = JSONParser().parse(
                {"body": answer or b"{}", "headers": {}, "status_code": 200}, operation.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            out = bytearray()
            RpcV2CBORSerializer()._serialize_data_item(out, parsed, operation.output_shape)
            out = bytes(out)
        headers = [
            (k, v)
            for k, v in captured["headers"]
            if k.lower() not in ("content-type", "content-length")
        ]
        headers += [
            ("Content-Type", "application/cbor"),
            ("Content-Length", str(len(out))),
            ("smithy-protocol", "rpc-v2-cbor"),
        ]
        start_response(status, headers)
        return [out]

    return middleware


def serve(host: str, tls_port: int, http_port: int, state_dir: Path, ready) -> None:
    """Serves moto (patched already) over TLS on `tls_port` and plain HTTP on `http_port` (0: any
    free port); calls `ready` with the endpoints once both listen."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    ca_pem, cert_pem, key_pem = ensure_certificates(state_dir)
    app = one_request_at_a_time(cbor_bridge(DomainDispatcherApplication(create_backend_app)))
    handler = keep_alive_handler()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_pem), str(key_pem))
    tls = make_server(host, tls_port, app, threaded=True, request_handler=handler, ssl_context=context)
    plain = make_server(host, http_port, app, threaded=True, request_handler=handler)
    os.environ.setdefault("MOTO_PORT", str(tls.server_port))
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    ready(
        {
            "endpoint": f"https://{host}:{tls.server_port}",
            "http_endpoint": f"http://{host}:{plain.server_port}",
            "ca_bundle": str(ca_pem.resolve()),
            "pid": os.getpid(),
        }
    )
    tls.serve_forever()
