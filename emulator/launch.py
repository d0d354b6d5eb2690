#!/usr/bin/env python3
"""Local AWS emulator for ssm-keeper: the pinned moto server, corrected where it deviates from AWS.

ssm-keeper must behave exactly as against AWS, so deviations of moto are fixed here, never in the
product. Every patch checks that the code it replaces is still what it was written against and
refuses to start otherwise (a newer moto must be re-checked by a person, not silently mis-patched).

Fixes (details in docs/emulator.md):
  1. S3 bucket policy conditions are evaluated with AWS semantics (aws:SecureTransport,
     s3:x-amz-server-side-encryption, s3:if-none-match, s3:if-match, ...); a statement whose
     condition does not hold is neutral;
     a denial answers AccessDenied as AWS does.
  2. GetBucketVersioning answers with the root element VersioningConfiguration.
  3. DescribeParameters honours MaxResults (1..50, default 10). Its later pages come from the
     first page's result while no SSM request changed anything (moto filters every parameter of
     the region again for each page, tags looked up one by one: a 10,000-parameter listing took
     longer in the emulator than AWS's quota allows it to take).
  4. Connections are kept alive (HTTP/1.1), as AWS does.
  5. S3 honours x-amz-expected-bucket-owner: a bucket of another account answers 403
     AccessDenied, as AWS does (moto ignores the header).
  6. SSM parameter policies come back as AWS returns them: PolicyText the policy's JSON text,
     PolicyType its type (moto returns a Python repr of the policy in both).
  8. IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) as AWS authorizes: the IAM action names of
     S3 (moto checks its own, e.g. `s3:HeadBucket`, `s3:GetBucketEncryption`; an object's tags
     are `s3:GetObjectTagging`/`s3:PutObjectTagging`, and an upload with x-amz-tagging needs
     `s3:PutObjectTagging` too, where moto checks GetObject/PutObject), each object of a
     DeleteObjects, the resources of SSM (each parameter named), KMS (the key) and CloudWatch
     (each alarm named; moto checks every non-S3 request against `*`, so no scoped policy could
     ever allow it), CloudWatch's IAM prefix `cloudwatch` (moto uses the signing name
     `monitoring`) and its `cloudwatch:namespace` condition key, and the signature of a request
     the CBOR bridge translated is checked on the request as sent.
  7. CloudWatch speaks the Smithy RPC v2 CBOR protocol, which the AWS SDK for Rust uses (AWS
     accepts it; moto knows only CloudWatch's JSON and query protocols): such requests are
     translated to the JSON protocol and their answers back to CBOR, shape by shape, with the
     pinned botocore's service model and CBOR codec.
  9. S3 asks KMS for an SSE-KMS object, as AWS does (moto stores the key id and never asks):
     a PutObject under a key needs kms:GenerateDataKey on it, a GetObject of such an object
     kms:Decrypt, both evaluated through S3 (kms:ViaService s3.<region>.amazonaws.com) under
     enforced IAM; a key that does not exist, is disabled or is pending deletion fails the
     request with KMS's error. IAM conditions with StringLike are evaluated (moto ignores every
     operator but StringEquals).
 10. KMS's EnableKey, DisableKey, CancelKeyDeletion and ScheduleKeyDeletion accept a key ARN,
     as AWS does (moto looks the raw argument up among key ids and fails with a 500).
 11. S3 Object Lock as AWS has it: it can be turned on for an existing versioned bucket that
     holds objects (moto wants an empty one), a retention is never shortened under COMPLIANCE
     nor under GOVERNANCE without the bypass header, `x-amz-bypass-governance-retention: false`
     bypasses nothing (moto took any value as true), and under enforced IAM the bypass header
     needs s3:BypassGovernanceRetention; PutObjectRetention is authorized as such.

Serves the same state over TLS (with a locally generated CA) and, for tests of the
DenyInsecureConnections statement, over plain HTTP on a second port.
"""

from __future__ import annotations

import argparse
import contextvars
import datetime
import fnmatch
import inspect
import ipaddress
import json
import os
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

PINNED_MOTO = "5.2.5"


class PatchTargetMoved(RuntimeError):
    """The moto code a patch replaces is not what the patch was written against."""


def require_source(obj, *snippets: str) -> None:
    source = inspect.getsource(obj)
    for snippet in snippets:
        if snippet not in source:
            raise PatchTargetMoved(
                f"{obj.__module__}.{obj.__qualname__} no longer contains {snippet!r}: "
                f"re-check emulator/launch.py against this moto version"
            )


# ---------------------------------------------------------------------------------------------
# 1. Bucket policy conditions
# ---------------------------------------------------------------------------------------------

_request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "ssm_keeper_request_context", default=None
)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard_match(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run, ? one character; fnmatch's [] classes do not exist in IAM.
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


def _principal_matches(principal) -> bool:
    # Every request to the emulator comes from the one test account; "*" and AWS principals match.
    return principal is not None


def _condition_holds(operator: str, key_values: dict, context: dict) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    for key, expected in key_values.items():
        expected = [str(v) for v in _as_list(expected)]
        actual = context.get(key.lower())
        if base == "Null":
            want_absent = expected[0].lower() == "true"
            if (actual is None) != want_absent:
                return False
            continue
        if actual is None:
            # AWS: a negated operator matches a missing key; any other operator does not,
            # unless it is an ...IfExists operator.
            if base.startswith("StringNot") or if_exists:
                continue
            return False
        if base == "StringEquals":
            ok = actual in expected
        elif base == "StringNotEquals":
            ok = actual not in expected
        elif base == "StringEqualsIgnoreCase":
            ok = actual.lower() in [e.lower() for e in expected]
        elif base == "StringNotEqualsIgnoreCase":
            ok = actual.lower() not in [e.lower() for e in expected]
        elif base == "StringLike":
            ok = any(_wildcard_match(e, actual) for e in expected)
        elif base == "StringNotLike":
            ok = not any(_wildcard_match(e, actual) for e in expected)
        elif base == "Bool":
            ok = actual.lower() in [e.lower() for e in expected]
        else:
            raise NotImplementedError(
                f"bucket policy condition operator {operator} is not emulated (emulator/launch.py)"
            )
        if not ok:
            return False
    return True


def evaluate_bucket_policy(policy: dict, action: str, resource: str, context: dict) -> str:
    """AWS policy evaluation for one request: 'DENIED', 'PERMITTED' or 'NEUTRAL'."""
    permitted = False
    for statement in _as_list(policy.get("Statement")):
        actions = _as_list(statement.get("Action"))
        if not any(_wildcard_match(a.lower(), action.lower()) for a in actions):
            continue
        resources = _as_list(statement.get("Resource"))
        if not any(_wildcard_match(r, resource) for r in resources):
            continue
        if not _principal_matches(statement.get("Principal")):
            continue
        conditions = statement.get("Condition") or {}
        if not all(_condition_holds(op, kv, context) for op, kv in conditions.items()):
            continue  # AWS: the statement does not apply
        if statement.get("Effect") == "Deny":
            return "DENIED"
        if statement.get("Effect") == "Allow":
            permitted = True
    return "PERMITTED" if permitted else "NEUTRAL"


def _context_from(request, full_url: str) -> dict:
    headers = request.headers
    context = {"aws:securetransport": "true" if urlparse(full_url).scheme == "https" else "false"}
    sse = headers.get("x-amz-server-side-encryption")
    if sse is not None:
        context["s3:x-amz-server-side-encryption"] = sse
    sse_key = headers.get("x-amz-server-side-encryption-aws-kms-key-id")
    if sse_key is not None:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = sse_key
    # Conditional writes (AWS's s3:if-none-match and s3:if-match keys): present when sent.
    for header in ("if-none-match", "if-match"):
        value = headers.get(header)
        if value is not None:
            context[f"s3:{header}"] = value
    owner = headers.get("x-amz-expected-bucket-owner")
    if owner is not None:
        context["expected-bucket-owner"] = owner
    return context


ACCESS_DENIED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Access Denied by bucket policy</Message>"
    "<RequestId>emulator</RequestId></Error>"
)


def patch_bucket_policy_conditions() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    require_source(FakeBucket.get_permission, "IAMPolicy(self.policy.decode())", "is_action_permitted(action, resource)")
    require_source(S3Response._key_response, "bucket.get_permission(action, resource)", "return 403, {}, \"\"")
    require_source(S3Response.key_response, "self._key_response(request, full_url)")
    require_source(S3Response.bucket_response, "self._bucket_response(request, full_url)")

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = _request_context.get()
        if context is None:
            raise RuntimeError("bucket policy evaluated outside a request (emulator/launch.py)")
        verdict = evaluate_bucket_policy(json.loads(self.policy.decode()), action, resource, context)
        if verdict == "DENIED":
            context["denied"] = True
        return getattr(PermissionResult, verdict)

    original_key_response = S3Response._key_response
    original_bucket_response = S3Response._bucket_response

    def _key_response(self, request, full_url):
        token = _request_context.set(_context_from(request, full_url))
        try:
            result = original_key_response(self, request, full_url)
            context = _request_context.get()
            if context.get("denied") and isinstance(result, tuple) and result[0] == 403 and not result[2]:
                return 403, {"Content-Type": "application/xml"}, ACCESS_DENIED_XML
            return result
        finally:
            _request_context.reset(token)

    def _bucket_response(self, request, full_url):
        token = _request_context.set(_context_from(request, full_url))
        try:
            return original_bucket_response(self, request, full_url)
        finally:
            _request_context.reset(token)

    FakeBucket.get_permission = get_permission
    S3Response._key_response = _key_response
    S3Response._bucket_response = _bucket_response


# ---------------------------------------------------------------------------------------------
# 5. Expected bucket owner
# ---------------------------------------------------------------------------------------------

def patch_expected_bucket_owner() -> None:
    """AWS: a request naming x-amz-expected-bucket-owner fails with 403 AccessDenied when the
    bucket belongs to another account. Every bucket lookup of a request goes through
    S3Backend.get_bucket, within the request context set up by patch 1."""
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.models import S3Backend

    require_source(S3Backend.get_bucket, "if bucket_name in self.buckets:", "s3_backends.bucket_accounts")
    original = S3Backend.get_bucket

    def get_bucket(self, bucket_name: str):
        bucket = original(self, bucket_name)
        context = _request_context.get() or {}
        expected = context.get("expected-bucket-owner")
        if expected is not None and getattr(bucket, "account_id", None) != expected:
            raise S3AccessDeniedError()
        return bucket

    S3Backend.get_bucket = get_bucket


# ---------------------------------------------------------------------------------------------
# 6. Parameter policies
# ---------------------------------------------------------------------------------------------

def patch_parameter_policies() -> None:
    from moto.ssm.models import Parameter

    require_source(
        Parameter.response_object,
        'policy_list = json.loads(self.policies)',
        '{"PolicyText": p, "PolicyType": p, "PolicyStatus": "Finished"}',
    )
    original = Parameter.response_object

    def response_object(self, decrypt=False, region=None):
        r = original(self, decrypt, region)
        if "Policies" in r:
            r["Policies"] = [
                {
                    "PolicyText": json.dumps(p, separators=(",", ":")),
                    "PolicyType": p.get("Type") if isinstance(p, dict) else None,
                    "PolicyStatus": "Pending",
                }
                for p in json.loads(self.policies)
            ]
        return r

    Parameter.response_object = response_object


# ---------------------------------------------------------------------------------------------
# 2. GetBucketVersioning root element
# ---------------------------------------------------------------------------------------------

def patch_bucket_versioning_root() -> None:
    from moto.s3.responses import S3Response

    require_source(S3Response.get_bucket_versioning, 'self.data["Action"] = "GetBucketVersioning"')
    original = S3Response.get_bucket_versioning

    def get_bucket_versioning(self):
        status, headers, body = original(self)
        if isinstance(body, bytes):
            body = body.decode()
        body = body.replace("<GetBucketVersioningResponse", "<VersioningConfiguration").replace(
            "</GetBucketVersioningResponse>", "</VersioningConfiguration>"
        )
        return status, headers, body

    S3Response.get_bucket_versioning = get_bucket_versioning


# ---------------------------------------------------------------------------------------------
# 3. DescribeParameters MaxResults
# ---------------------------------------------------------------------------------------------

def patch_describe_parameters_page_size() -> None:
    from moto.core.responses import ActionResult
    from moto.ssm.exceptions import ValidationException
    from moto.ssm.responses import SimpleSystemManagerResponse

    require_source(
        SimpleSystemManagerResponse.describe_parameters,
        "page_size = 10",
        "self.ssm_backend.describe_parameters(filters, parameter_filters)",
        "parameter.describe_response_object(False)",
    )

    def describe_parameters(self):
        page_size = self._get_param("MaxResults") or 10
        if not 1 <= int(page_size) <= 50:
            raise ValidationException(
                f"1 validation error detected: Value '{page_size}' at 'maxResults' failed to satisfy "
                "constraint: Member must have value less than or equal to 50"
            )
        page_size = int(page_size)
        filters = self._get_param("Filters")
        parameter_filters = self._get_param("ParameterFilters")
        token = self._get_param("NextToken")
        if hasattr(token, "strip"):
            token = token.strip()
        start = int(token) if token else 0

        result = _described(self.ssm_backend, filters, parameter_filters, start)
        page = result[start : start + page_size]
        response = {"Parameters": [p.describe_response_object(False) for p in page]}
        if start + page_size < len(result):
            response["NextToken"] = str(start + page_size)
        return ActionResult(response)

    SimpleSystemManagerResponse.describe_parameters = describe_parameters


def patch_ssm_generation() -> None:
    """Every SSM action that changes something makes the listings computed before it stale.
    Applied last: it wraps the actions as the other patches left them."""
    from moto.ssm.responses import SimpleSystemManagerResponse

    changing = ("put_", "delete_", "label_", "unlabel_", "add_tags", "remove_tags")
    for name, action in list(vars(SimpleSystemManagerResponse).items()):
        if name.startswith(changing) and callable(action):
            setattr(SimpleSystemManagerResponse, name, _changes_ssm(action))


# The SSM state's generation: bumped by every changing SSM action.
_ssm_generation = [0]
# (backend, filters) -> (generation, the listing's result), for the pages after the first.
_described_cache: dict = {}


def _changes_ssm(action):
    def changing(self, *args, **kwargs):
        try:
            return action(self, *args, **kwargs)
        finally:
            _ssm_generation[0] += 1

    changing.__name__ = action.__name__
    return changing


def _described(backend, filters, parameter_filters, start: int):
    key = (id(backend), json.dumps([filters, parameter_filters], sort_keys=True, default=str))
    generation = _ssm_generation[0]
    cached = _described_cache.get(key)
    if start > 0 and cached is not None and cached[0] == generation:
        return cached[1]
    result = backend.describe_parameters(filters, parameter_filters)
    if len(_described_cache) > 64:
        _described_cache.clear()
    _described_cache[key] = (generation, result)
    return result


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


# ---------------------------------------------------------------------------------------------
# 4. Keep-alive
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# TLS material
# ---------------------------------------------------------------------------------------------

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



# ---------------------------------------------------------------------------------------------
# 8. IAM enforcement as AWS authorizes
# ---------------------------------------------------------------------------------------------

_iam_action = contextvars.ContextVar("iam_action", default=None)
_iam_conditions = contextvars.ContextVar("iam_conditions", default=None)
_signed_request = contextvars.ContextVar("signed_request", default=None)


def s3_iam_checks(method: str, querystring: dict, body: bytes, bucket, key, headers=None) -> list:
    """(IAM action, bucket, key) AWS authorizes for one S3 request (the Service Authorization
    Reference's action for each API ssm-keeper and its tests call)."""
    if not bucket:
        return [("s3:ListAllMyBuckets", None, None)]
    q = set(querystring)
    headers = headers or {}
    # Deleting a locked version early, or shortening its retention, under GOVERNANCE: the bypass
    # header works only with s3:BypassGovernanceRetention.
    bypass = str(headers.get("x-amz-bypass-governance-retention", "")).lower() == "true"
    extra = [("s3:BypassGovernanceRetention", bucket, key)] if bypass else []
    if key and "retention" in q:
        action = "s3:PutObjectRetention" if method == "PUT" else "s3:GetObjectRetention"
        return [(action, bucket, key), *extra]
    if key and "legal-hold" in q:
        action = "s3:PutObjectLegalHold" if method == "PUT" else "s3:GetObjectLegalHold"
        return [(action, bucket, key)]
    if key and method == "DELETE" and "tagging" not in q:
        return [("s3:DeleteObjectVersion" if "versionId" in q else "s3:DeleteObject", bucket, key), *extra]
    if method == "POST" and "delete" in q and extra:
        extra = [("s3:BypassGovernanceRetention", bucket, None)]
    else:
        extra = []
    if key:
        version = "Version" if "versionId" in q else ""
        if "tagging" in q:  # an object's tags: their own actions, not GetObject/PutObject
            action = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, f"Unknown{method}")
            return [(f"s3:{action}Object{version}Tagging", bucket, key)]
        if method in ("GET", "HEAD"):
            return [(f"s3:GetObject{version}", bucket, key)]
        if method == "PUT":
            # Tags sent with the upload (x-amz-tagging) need s3:PutObjectTagging as well.
            tagged = headers is not None and headers.get("x-amz-tagging") is not None
            return [("s3:PutObject", bucket, key)] + ([("s3:PutObjectTagging", bucket, key)] if tagged else [])
        if method == "DELETE":
            return [("s3:DeleteObjectVersion" if "versionId" in q else "s3:DeleteObject", bucket, key)]
        return [("s3:PutObject", bucket, key)]  # multipart POSTs
    if method == "POST" and "delete" in q:
        import xml.etree.ElementTree as ET

        checks = []
        for obj in ET.fromstring(body or b"<Delete/>").iter():
            if obj.tag.rsplit("}", 1)[-1] != "Object":
                continue
            fields = {child.tag.rsplit("}", 1)[-1]: child.text for child in obj}
            action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
            checks.append((action, bucket, fields.get("Key")))
        return checks + extra
    subresources = {
        "versions": ("s3:ListBucketVersions", None, None),
        "encryption": ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"),
        "lifecycle": ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
        "publicAccessBlock": ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
        "tagging": ("s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"),
        "object-lock": ("s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", None),
        "versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning", None),
        "location": ("s3:GetBucketLocation", None, None),
    }
    for sub, (get, put, delete) in subresources.items():
        if sub in q:
            action = {"GET": get, "HEAD": get, "PUT": put, "DELETE": delete}.get(method)
            return [(action or f"s3:Unknown{method}{sub}", bucket, None)]
    default = {"GET": "s3:ListBucket", "HEAD": "s3:ListBucket", "PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}
    return [(default.get(method, f"s3:Unknown{method}"), bucket, None)]


def patch_iam_enforcement() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMRequestBase
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.kms.responses import KmsResponse
    from moto.s3.responses import S3Response
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.utilities.utils import get_partition

    require_source(
        ActionAuthenticatorMixin._authenticate_and_authorize_action,
        "action=self._get_action()",
        "iam_request.check_signature()",
        "iam_request.check_action_permitted(resource)",
    )
    require_source(IAMRequestBase.__init__, "self._action = (", 'f"{self._service}:')
    require_source(IAMPolicy.is_action_permitted, "incoming_condition_values: dict[str, str] | None = None")
    require_source(
        ActionAuthenticatorMixin._authenticate_and_authorize_s3_action,
        'resource = f"arn:{get_partition(self.region)}:s3:::{arn}"',
    )

    original_init = IAMRequestBase.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        action = _iam_action.get()
        if action:
            self._action = action
        elif self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]
        elif self._action.startswith("tagging:"):  # the Resource Groups Tagging API's IAM prefix
            self._action = "tag:" + self._action.split(":", 1)[1]
        signed = _signed_request.get()
        if signed is not None:  # the request as sent, before the CBOR bridge translated it
            self._method, self._path, self._body, self._headers = signed
            self._data = {}

    original_is_action_permitted = IAMPolicy.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        if incoming_condition_values is None:
            incoming_condition_values = _iam_conditions.get()
        return original_is_action_permitted(self, action, resource, principal, incoming_condition_values)

    IAMRequestBase.__init__ = __init__
    IAMPolicy.is_action_permitted = is_action_permitted

    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize_s3(self, bucket_name=None, key_name=None):
        body = self.raw_body if isinstance(getattr(self, "raw_body", None), bytes) else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        checks = s3_iam_checks(self.method, self.querystring, body, bucket_name, key_name, headers)
        for action, bucket, key in checks:
            token = _iam_action.set(action)
            try:
                original_s3(self, bucket_name=bucket, key_name=key)
            finally:
                _iam_action.reset(token)

    S3Response._authenticate_and_authorize_s3_action = authorize_s3

    original_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize_each(resources_of):
        def authorize(self, resource="*"):
            try:
                request = json.loads(self.body or "{}")
            except (TypeError, ValueError):
                request = {}
            resources, conditions = resources_of(self, request)
            token = _iam_conditions.set(conditions)
            try:
                for r in resources or ["*"]:
                    original_normal(self, r)
            finally:
                _iam_conditions.reset(token)

        return authorize

    def arn(self, service, kind_and_name):
        return f"arn:{get_partition(self.region)}:{service}:{self.region}:{self.current_account}:{kind_and_name}"

    def ssm_resources(self, request):
        names = request.get("Names") or ([request["Name"]] if "Name" in request else [])
        if request.get("ResourceType") == "Parameter" and "ResourceId" in request:
            names = [request["ResourceId"]]  # AddTagsToResource, RemoveTagsFromResource
        return [arn(self, "ssm", "parameter/" + n.lstrip("/")) for n in names], None

    authorize_ssm = authorize_each(ssm_resources)

    def authorize_ssm_and_tags(self, resource="*"):
        authorize_ssm(self, resource)
        # PutParameter with Tags also needs ssm:AddTagsToResource on the parameter, as in AWS.
        try:
            request = json.loads(self.body or "{}")
        except (TypeError, ValueError):
            request = {}
        if self._get_action() == "PutParameter" and request.get("Tags"):
            token = _iam_action.set("ssm:AddTagsToResource")
            try:
                authorize_ssm(self, resource)
            finally:
                _iam_action.reset(token)

    def kms_resources(self, request):
        # CreateAlias is authorized on the key it targets and on the alias.
        key = request.get("KeyId") or request.get("TargetKeyId")
        aliases = [arn(self, "kms", request["AliasName"])] if "AliasName" in request else []
        if not key:
            return aliases, None
        if key.startswith("arn:"):
            return [key, *aliases], None
        try:
            key = self.kms_backend.describe_key(key).id
        except Exception:  # an unknown key: AWS authorizes the ARN it names, then says NotFound
            pass
        return [arn(self, "kms", f"key/{key}"), *aliases], None

    def cloudwatch_resources(self, request):
        names = request.get("AlarmNames") or ([request["AlarmName"]] if "AlarmName" in request else [])
        conditions = {"cloudwatch:namespace": request["Namespace"]} if "Namespace" in request else None
        return [arn(self, "cloudwatch", f"alarm:{n}") for n in names], conditions

    SimpleSystemManagerResponse._authenticate_and_authorize_normal_action = authorize_ssm_and_tags

    # A denial of a JSON-protocol request (X-Amz-Target) comes back in that protocol's shape, as
    # AWS answers it (moto answered XML, which no JSON client can parse). CloudWatch's requests
    # pass the CBOR bridge, which translates errors itself.
    from moto.core.exceptions import JsonRESTError, _RESTError as RESTError
    from moto.core.responses import BaseResponse

    require_source(
        BaseResponse.call_action,
        "self._authenticate_and_authorize_normal_action(resource)",
        "except HTTPException as http_error:",
    )
    original_call_action = BaseResponse.call_action
    json_codes = {
        "AccessDenied": "AccessDeniedException",
        "InvalidClientTokenId": "UnrecognizedClientException",
        "SignatureDoesNotMatch": "InvalidSignatureException",
    }

    def call_action(self):
        target = next((v for k, v in self.headers.items() if k.lower() == "x-amz-target"), "")
        if target and not target.startswith("GraniteServiceVersion20100801"):
            authorize = self._authenticate_and_authorize_normal_action

            def authorize_json(resource="*"):
                try:
                    authorize(resource)
                except RESTError as e:
                    if isinstance(e, JsonRESTError):
                        raise
                    error = JsonRESTError(json_codes.get(e.error_type, e.error_type), e.message)
                    error.code = 400
                    raise error from e

            self._authenticate_and_authorize_normal_action = authorize_json
        return original_call_action(self)

    BaseResponse.call_action = call_action
    KmsResponse._authenticate_and_authorize_normal_action = authorize_each(kms_resources)
    CloudWatchResponse._authenticate_and_authorize_normal_action = authorize_each(cloudwatch_resources)

# ---------------------------------------------------------------------------------------------
# 7. CloudWatch over RPC v2 CBOR
# ---------------------------------------------------------------------------------------------

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

        token = _signed_request.set(signed)
        try:
            answer = b"".join(app(environ, capture))
        finally:
            _signed_request.reset(token)
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


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Tier downgrade
# ---------------------------------------------------------------------------------------------

TIER_DOWNGRADE_MESSAGE = (
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
    "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the "
    "advanced parameter and recreate it as a standard parameter."
)


def patch_tier_downgrade() -> None:
    """AWS refuses to move an Advanced parameter back to Standard; moto did it."""
    from moto.ssm.exceptions import ValidationException
    from moto.ssm.models import SimpleSystemManagerBackend

    require_source(
        SimpleSystemManagerBackend.put_parameter,
        "tier = tier if tier is not None else previous_parameter.tier",
    )
    original = SimpleSystemManagerBackend.put_parameter

    def put_parameter(self, name, *args, **kwargs):
        tier = kwargs.get("tier")
        versions = self._parameters.get(name) if name in self._parameters else None
        if tier == "Standard" and versions and versions[-1].tier == "Advanced":
            raise ValidationException(TIER_DOWNGRADE_MESSAGE)
        return original(self, name, *args, **kwargs)

    SimpleSystemManagerBackend.put_parameter = put_parameter


# ---------------------------------------------------------------------------------------------
# A test facility, not a fix: a parameter written long ago
# ---------------------------------------------------------------------------------------------

def patch_parameter_age() -> None:
    """PutParameter with the header `x-emulator-age-seconds: N` backdates the version it writes
    by N seconds (its LastModifiedDate), as a parameter written that long ago would be: the lock
    expires by AWS's clock, which a test cannot wait for."""
    import datetime

    from moto.ssm.responses import SimpleSystemManagerResponse

    require_source(
        SimpleSystemManagerResponse.put_parameter,
        'name = self._get_param("Name")',
        "param = self.ssm_backend.put_parameter(",
    )
    original = SimpleSystemManagerResponse.put_parameter

    def put_parameter(self):
        result = original(self)
        age = self.headers.get("x-emulator-age-seconds")
        if age:
            param = self.ssm_backend.get_parameter(self._get_param("Name"))
            param.last_modified_date -= datetime.timedelta(seconds=int(age))
        return result

    SimpleSystemManagerResponse.put_parameter = put_parameter


# ---------------------------------------------------------------------------------------------
# 9. S3 asks KMS for SSE-KMS objects
# ---------------------------------------------------------------------------------------------

KMS_KEY_STATE_ERRORS = {
    "Disabled": ("KMS.DisabledException", "{arn} is disabled."),
    "PendingDeletion": ("KMS.KMSInvalidStateException", "{arn} is pending deletion."),
}


def _s3_error(status: int, code: str, message: str):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>emulator</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml"}, body


def patch_s3_asks_kms() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam import policy_conditions
    from moto.iam.access_control import S3IAMRequest
    from moto.kms.models import kms_backends
    from moto.s3.responses import S3Response

    require_source(S3Response.put_object, 'encryption = self.headers.get("x-amz-server-side-encryption")')
    require_source(S3Response.get_object, "key, not_modified = self._get_key()")
    require_source(policy_conditions.TrustCondition.verify_condition, "CONDITION_OPERATIONS.get(self._condition)")

    def string_like(expected, actual: str) -> bool:
        patterns = expected if isinstance(expected, list) else [expected]
        return any(_wildcard_match(p, actual) for p in patterns)

    policy_conditions.CONDITION_OPERATIONS["StringLike"] = string_like

    def key_of(response, key_id: str):
        backend = kms_backends[response.current_account][response.region]
        try:
            return backend.describe_key(key_id)
        except Exception:  # moto raises its own NotFound for an unknown id, ARN or alias
            return None

    def ask_kms(response, action: str, key_id: str):
        """The KMS side of an S3 request: the caller's permission through S3, then the key."""
        key = key_of(response, key_id)
        arn = key.arn if key is not None else key_id
        actions = _iam_action.set(action)
        conditions = _iam_conditions.set({"kms:ViaService": f"s3.{response.region}.amazonaws.com"})
        try:
            ActionAuthenticatorMixin._authenticate_and_authorize_action(response, S3IAMRequest, arn)
        finally:
            _iam_action.reset(actions)
            _iam_conditions.reset(conditions)
        if key is None:
            return _s3_error(400, "KMS.NotFoundException", f"Invalid keyId '{key_id}'")
        if key.key_state in KMS_KEY_STATE_ERRORS:
            code, message = KMS_KEY_STATE_ERRORS[key.key_state]
            return _s3_error(400, code, message.format(arn=arn))
        return None

    original_put = S3Response.put_object
    original_get = S3Response.get_object

    def put_object(self):
        copying = "x-amz-copy-source" in self.headers or "uploadId" in self.querystring
        key_id = self.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
        if not copying and self.headers.get("x-amz-server-side-encryption") == "aws:kms" and key_id:
            refused = ask_kms(self, "kms:GenerateDataKey", key_id)
            if refused is not None:
                return refused
        return original_put(self)

    def get_object(self):
        version = (self.querystring.get("versionId") or [None])[0]
        try:
            stored = self.backend.get_object(self.bucket_name, self.parse_key_name(), version)
        except Exception:  # missing: the original answers as S3 does
            stored = None
        if stored is not None and stored.encryption == "aws:kms" and stored.kms_key_id:
            refused = ask_kms(self, "kms:Decrypt", stored.kms_key_id)
            if refused is not None:
                return refused
        return original_get(self)

    S3Response.put_object = put_object
    S3Response.get_object = get_object


# ---------------------------------------------------------------------------------------------
# 10. KMS key state operations by key ARN
# ---------------------------------------------------------------------------------------------

def patch_kms_key_state_by_arn() -> None:
    from moto.kms.models import KmsBackend

    for name in ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion"):
        method = getattr(KmsBackend, name)
        require_source(method, "self.keys[key_id]")

        def by_any_id(self, key_id, *args, _original=method, **kwargs):
            return _original(self, self.any_id_to_key_id(key_id), *args, **kwargs)

        setattr(KmsBackend, name, by_any_id)


# ---------------------------------------------------------------------------------------------
# 11. S3 Object Lock
# ---------------------------------------------------------------------------------------------

def patch_object_lock() -> None:
    from moto.s3.exceptions import AccessDeniedByLock
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    require_source(S3Backend.put_object_lock_configuration, "if bucket.keys.item_size() > 0:", "raise BucketNeedsToBeNew")
    require_source(S3Backend.put_object_retention, "key.lock_until = retention[1]")
    require_source(S3Response.put_object_retention, "self.backend.put_object_retention(")
    require_source(S3Response.delete_object, 'bypass = self.headers.get("X-Amz-Bypass-Governance-Retention")')
    require_source(S3Backend.delete_object, "governance_bypass=bypass")

    def put_object_lock_configuration(self, bucket_name, lock_enabled, mode=None, days=None, years=None):
        bucket = self.get_bucket(bucket_name)
        if not bucket.is_versioned:
            from moto.s3.exceptions import InvalidBucketState

            raise InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
        if lock_enabled:
            bucket.object_lock_enabled = True
            bucket.versioning_status = "Enabled"
        bucket.default_lock_mode = mode
        bucket.default_lock_days = days
        bucket.default_lock_years = years

    original_retention = S3Backend.put_object_retention
    bypass_header = contextvars.ContextVar("bypass_governance", default=False)

    def put_object_retention(self, bucket_name, key_name, version_id, retention):
        key = self.get_object(bucket_name, key_name, version_id=version_id)
        mode, until = retention
        if key is not None and key.lock_mode in ("GOVERNANCE", "COMPLIANCE") and key.lock_until:
            shorter = until is None or str(until) < str(key.lock_until)
            weaker = key.lock_mode == "COMPLIANCE" and mode != "COMPLIANCE"
            if key.is_locked(governance_bypass=bypass_header.get()) and (shorter or weaker):
                raise AccessDeniedByLock
        return original_retention(self, bucket_name, key_name, version_id, retention)

    original_response = S3Response.put_object_retention

    def response_put_object_retention(self):
        flag = str(self.headers.get("x-amz-bypass-governance-retention", "")).lower() == "true"
        token = bypass_header.set(flag)
        try:
            return original_response(self)
        finally:
            bypass_header.reset(token)

    # moto takes the header's text as the flag, so `false` bypassed the lock as well.
    original_delete = S3Backend.delete_object

    def delete_object(self, bucket_name, key_name, version_id=None, bypass=False):
        flag = str(bypass).lower() == "true" if isinstance(bypass, str) else bool(bypass)
        return original_delete(self, bucket_name, key_name, version_id=version_id, bypass=flag)

    S3Backend.delete_object = delete_object
    S3Backend.put_object_lock_configuration = put_object_lock_configuration
    S3Backend.put_object_retention = put_object_retention
    S3Response.put_object_retention = response_put_object_retention


def apply_patches() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise PatchTargetMoved(f"moto {moto.__version__} installed, the launcher is written for {PINNED_MOTO}")
    patch_bucket_policy_conditions()
    patch_bucket_versioning_root()
    patch_describe_parameters_page_size()
    patch_expected_bucket_owner()
    patch_parameter_policies()
    patch_parameter_age()
    patch_tier_downgrade()
    patch_iam_enforcement()
    patch_s3_asks_kms()
    patch_kms_key_state_by_arn()
    patch_object_lock()
    patch_backend_lookup()
    patch_ssm_generation()


def serve(host: str, tls_port: int, http_port: int, state_dir: Path, ready) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    apply_patches()
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


def watch_parent(parent_pid: int) -> None:
    """Exit when the process that started us is gone (test runs must not leak servers)."""

    def run():
        while True:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            threading.Event().wait(1.0)

    threading.Thread(target=run, daemon=True).start()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TLS port (0: any free port)")
    parser.add_argument("--http-port", type=int, default=0, help="plain HTTP port (0: any free port)")
    parser.add_argument("--state-dir", default=".emulator", help="where the CA and certificates live")
    parser.add_argument("--exit-with-parent", type=int, default=0, metavar="PID")
    parser.add_argument(
        "--detach",
        action="store_true",
        help="run in the background; return once serving, printing the ready line",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="with --detach: print `export` lines for a shell to eval instead of the ready line; "
        "reuses an emulator already serving from --state-dir",
    )
    parser.add_argument("--stop", action="store_true", help="stop the emulator of --state-dir")
    parser.add_argument(
        "--self-check", action="store_true", help="check that every patch still fits moto, then exit"
    )
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir)
    if args.self_check:
        apply_patches()
        keep_alive_handler()
        cbor_bridge(None)
        print("emulator patches fit moto " + PINNED_MOTO)
        return 0
    if args.stop:
        return stop(state_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    if args.exit_with_parent:
        watch_parent(args.exit_with_parent)

    if not args.detach:
        def ready(info):
            print("READY " + json.dumps(info), flush=True)

        serve(args.host, args.port, args.http_port, state_dir, ready)
        return 0

    state_dir.mkdir(parents=True, exist_ok=True)
    running = running_emulator(state_dir)
    if running and args.print_env:
        print(shell_env(running), flush=True)
        return 0
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.setsid()
        log = open(state_dir / "emulator.log", "ab", buffering=0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)

        def ready(info):
            (state_dir / "emulator.json").write_text(json.dumps(info))
            os.write(write_fd, ("READY " + json.dumps(info) + "\n").encode())
            os.close(write_fd)

        try:
            serve(args.host, args.port, args.http_port, state_dir, ready)
        except BaseException as error:  # report the failure to the waiting parent
            os.write(write_fd, f"FAILED {error!r}\n".encode())
            raise
        return 0

    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        line = pipe.readline().strip()
    if not line.startswith("READY "):
        print(f"emulator failed to start: {line or 'no answer'} (log: {state_dir / 'emulator.log'})", file=sys.stderr)
        return 1
    info = json.loads(line[len("READY "):])
    print(shell_env(info) if args.print_env else line, flush=True)
    return 0


def running_emulator(state_dir: Path):
    """The emulator this state dir describes, if it is still serving."""
    try:
        info = json.loads((state_dir / "emulator.json").read_text())
        os.kill(info["pid"], 0)
        port = int(info["endpoint"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return info
    except (OSError, ValueError, KeyError):
        return None


def shell_env(info: dict) -> str:
    """The environment that points ssm-keeper and the AWS CLI at the emulator. It overrides an
    AWS_CA_BUNDLE the machine may set to its system store, and any profile or real credentials."""
    lines = [
        f"export AWS_ENDPOINT_URL={info['endpoint']}",
        f"export AWS_CA_BUNDLE={info['ca_bundle']}",
        "export AWS_ACCESS_KEY_ID=testing",
        "export AWS_SECRET_ACCESS_KEY=testing",
        "export AWS_REGION=us-east-1",
        "export AWS_DEFAULT_REGION=us-east-1",
        "export AWS_EC2_METADATA_DISABLED=true",
        "unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE",
        f"export SSM_KEEPER_EMULATOR_HTTP_URL={info['http_endpoint']}",
        f"export SSM_KEEPER_EMULATOR_PID={info['pid']}",
    ]
    return "\n".join(lines)


def stop(state_dir: Path) -> int:
    info = running_emulator(state_dir)
    if not info:
        print(f"no emulator is running from {state_dir}")
        return 0
    os.kill(info["pid"], signal.SIGTERM)
    (state_dir / "emulator.json").unlink(missing_ok=True)
    print(f"stopped the emulator (pid {info['pid']})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PatchTargetMoved as moved:
        print(f"emulator: {moved}", file=sys.stderr)
        sys.exit(3)
