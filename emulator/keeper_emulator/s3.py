"""S3 as AWS has it where moto 5.2.5 differs: bucket policies evaluated with the request's
condition keys, the versioning XML root, the expected bucket owner, each API authorized under
its own IAM action, KMS asked for SSE-KMS objects, and Object Lock."""

from __future__ import annotations

import contextvars
import json
from urllib.parse import urlparse

from . import iam, kms
from .policy import evaluate_bucket_policy, request_context, tag_keys, wildcard_match
from .source import require_source


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


def object_checks(response, request, full_url: str) -> list:
    """(IAM action, object ARN, condition keys) for each action AWS authorizes an object request
    as, for the bucket policy."""
    from urllib.parse import parse_qs

    if request.method not in ("GET", "HEAD", "PUT", "DELETE", "POST"):
        return []  # OPTIONS (CORS): moto's own check
    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    bucket, key = response.parse_bucket_name_from_url(request, full_url), response.parse_key_name()
    headers = {k.lower(): v for k, v in request.headers.items()}
    version = (query.get("versionId") or [None])[0]
    upload = request.method == "PUT" and not set(query) & {"tagging", "retention", "legal-hold", "acl"}
    checks = []
    for action, checked_bucket, checked_key in s3_iam_checks(request.method, query, b"", bucket, key, headers):
        values = condition_values(response.backend, action, checked_bucket, checked_key, version, upload)
        checks.append((action, f"arn:aws:s3:::{checked_bucket}/{checked_key}", values))
    return checks


ACCESS_DENIED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Access Denied by bucket policy</Message>"
    "<RequestId>emulator</RequestId></Error>"
)


def patch_bucket_policy_conditions() -> None:
    """Bucket policy conditions are evaluated with AWS semantics against the request's condition
    keys (aws:SecureTransport, s3:x-amz-server-side-encryption, s3:if-none-match, s3:if-match,
    s3:ExistingObjectTag/<k>, ...); a statement whose condition does not hold is neutral; a
    denial answers AccessDenied as AWS does (moto answered an empty 403). An object request is
    evaluated under each IAM action AWS authorizes it as (s3_iam_checks: s3:PutObjectTagging,
    s3:GetObjectVersion, ...; an upload with x-amz-tagging as s3:PutObject and
    s3:PutObjectTagging), where moto checked every one as s3:<Method>Object."""
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
        context = request_context.get()
        if context is None:
            raise RuntimeError("bucket policy evaluated outside a request (emulator/keeper_emulator/s3.py)")
        policy = json.loads(self.policy.decode())
        # moto's `action` is s3:<Method>Object whatever the API: the request's own checks instead.
        verdicts = [
            evaluate_bucket_policy(policy, checked, checked_resource, values)
            for checked, checked_resource, values in context.get("object-checks") or [(action, resource, context)]
        ]
        if "DENIED" in verdicts:
            context["denied"] = True
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if all(v == "PERMITTED" for v in verdicts) else PermissionResult.NEUTRAL

    original_key_response = S3Response._key_response
    original_bucket_response = S3Response._bucket_response

    def _key_response(self, request, full_url):
        context = _context_from(request, full_url)
        token = request_context.set(context)
        try:
            context["object-checks"] = object_checks(self, request, full_url)
            result = original_key_response(self, request, full_url)
            context = request_context.get()
            if context.get("denied") and isinstance(result, tuple) and result[0] == 403 and not result[2]:
                return 403, {"Content-Type": "application/xml"}, ACCESS_DENIED_XML
            return result
        finally:
            request_context.reset(token)

    def _bucket_response(self, request, full_url):
        token = request_context.set(_context_from(request, full_url))
        try:
            return original_bucket_response(self, request, full_url)
        finally:
            request_context.reset(token)

    FakeBucket.get_permission = get_permission
    S3Response._key_response = _key_response
    S3Response._bucket_response = _bucket_response


def patch_expected_bucket_owner() -> None:
    """AWS: a request naming x-amz-expected-bucket-owner fails with 403 AccessDenied when the
    bucket belongs to another account. Every bucket lookup of a request goes through
    S3Backend.get_bucket, within the request context set up by patch_bucket_policy_conditions."""
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.models import S3Backend

    require_source(S3Backend.get_bucket, "if bucket_name in self.buckets:", "s3_backends.bucket_accounts")
    original = S3Backend.get_bucket

    def get_bucket(self, bucket_name: str):
        bucket = original(self, bucket_name)
        context = request_context.get() or {}
        expected = context.get("expected-bucket-owner")
        if expected is not None and getattr(bucket, "account_id", None) != expected:
            raise S3AccessDeniedError()
        return bucket

    S3Backend.get_bucket = get_bucket


def patch_bucket_versioning_root() -> None:
    """GetBucketVersioning answers with the root element VersioningConfiguration (moto's
    GetBucketVersioningResponse, once a status is set, is refused by the Rust SDK)."""
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


# What s3:ExistingObjectTag/<k> is not defined for (AWS: a policy cannot grant or deny the
# overwrite or deletion of an object by its tags).
NO_EXISTING_OBJECT_TAGS = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}


def condition_values(backend, action: str, bucket, key, version=None, upload=False) -> dict:
    """The condition keys of the S3 request in progress for one of its checks: the request's own
    (aws:SecureTransport, s3:x-amz-server-side-encryption, ...), the existing object's tags
    (s3:ExistingObjectTag/<k>) for an object action that has them (not for an upload, whose
    tags are the new object's), the bucket's tags (aws:ResourceTag/<k>) for a bucket action.
    Lower-cased, as policy.condition_holds reads them."""
    context = request_context.get() or {}
    values = {k: v for k, v in context.items() if ":" in k}
    if bucket and key and action not in NO_EXISTING_OBJECT_TAGS and not upload:
        try:
            stored = backend.get_object(bucket, key, version)
        except Exception:  # missing: no tags to speak of
            stored = None
        if stored is not None:
            tags = backend.get_object_tagging(stored).get("Tags", [])
            values.update(tag_keys("s3:ExistingObjectTag", {t["Key"]: t["Value"] for t in tags}))
    elif bucket and not key:
        try:
            tags = backend.get_bucket_tagging(bucket).get("Tags", [])
        except Exception:  # a bucket that does not exist (yet): no tags
            tags = []
        values.update(tag_keys("aws:ResourceTag", {t["Key"]: t["Value"] for t in tags}))
    return values


def patch_iam_actions() -> None:
    """Under enforced IAM, each S3 request is checked under the IAM actions s3_iam_checks names
    (moto checks its own names, one per request)."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.s3.responses import S3Response

    require_source(
        ActionAuthenticatorMixin._authenticate_and_authorize_s3_action,
        'resource = f"arn:{get_partition(self.region)}:s3:::{arn}"',
    )
    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize_s3(self, bucket_name=None, key_name=None):
        body = self.raw_body if isinstance(getattr(self, "raw_body", None), bytes) else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        checks = s3_iam_checks(self.method, self.querystring, body, bucket_name, key_name, headers)
        version = (self.querystring.get("versionId") or [None])[0]
        upload = self.method == "PUT" and not set(self.querystring) & {"tagging", "retention", "legal-hold", "acl"}
        for action, bucket, key in checks:
            token = iam.action.set(action)
            values = iam.conditions.set(condition_values(self.backend, action, bucket, key, version, upload))
            try:
                original_s3(self, bucket_name=bucket, key_name=key)
            finally:
                iam.action.reset(token)
                iam.conditions.reset(values)

    S3Response._authenticate_and_authorize_s3_action = authorize_s3


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


def patch_asks_kms() -> None:
    """S3 asks KMS for an SSE-KMS object, as AWS does (moto stores the key id and never asks): a
    PutObject under a key needs kms:GenerateDataKey on it, a GetObject of such an object
    kms:Decrypt, both through S3 (kms:ViaService s3.<region>.amazonaws.com) under enforced IAM; a
    key that does not exist, is disabled or is pending deletion fails the request with KMS's
    error."""
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
        return any(wildcard_match(p, actual) for p in patterns)

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
        actions = iam.action.set(action)
        backend = kms_backends[response.current_account][response.region]
        via_s3 = {"kms:ViaService": f"s3.{response.region}.amazonaws.com"}
        conditions = iam.conditions.set({**via_s3, **kms.key_conditions(backend, arn)})
        try:
            ActionAuthenticatorMixin._authenticate_and_authorize_action(response, S3IAMRequest, arn)
        finally:
            iam.action.reset(actions)
            iam.conditions.reset(conditions)
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


def patch_object_lock() -> None:
    """Object Lock as AWS has it: it can be turned on for an existing versioned bucket that holds
    objects (moto wants an empty one), a retention is never shortened under COMPLIANCE nor under
    GOVERNANCE without the bypass header, `x-amz-bypass-governance-retention: false` bypasses
    nothing (moto took any value as true)."""
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

