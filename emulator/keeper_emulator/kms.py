"""Key Management Service as AWS has it where moto 5.2.5 differs: the key state operations take a
key ARN, and each request is authorized against the key it names (and CreateAlias against the
alias too). S3's calls to KMS on a caller's behalf are S3's (s3.py)."""

from __future__ import annotations

from . import iam
from .source import require_source


def patch_key_state_by_arn() -> None:
    """EnableKey, DisableKey, CancelKeyDeletion and ScheduleKeyDeletion accept a key ARN, as AWS
    does (moto looks the raw argument up among key ids and fails with a 500)."""
    from moto.kms.models import KmsBackend

    for name in ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion"):
        method = getattr(KmsBackend, name)
        require_source(method, "self.keys[key_id]")

        def by_any_id(self, key_id, *args, _original=method, **kwargs):
            return _original(self, self.any_id_to_key_id(key_id), *args, **kwargs)

        setattr(KmsBackend, name, by_any_id)


def patch_iam_resources() -> None:
    """Each request is authorized against the key's ARN (moto checked `*`)."""
    from moto.kms.responses import KmsResponse

    def kms_resources(self, request):
        # CreateAlias is authorized on the key it targets and on the alias.
        key = request.get("KeyId") or request.get("TargetKeyId")
        aliases = [iam.arn(self, "kms", request["AliasName"])] if "AliasName" in request else []
        if not key:
            return aliases, None
        if key.startswith("arn:"):
            return [key, *aliases], None
        try:
            key = self.kms_backend.describe_key(key).id
        except Exception:  # an unknown key: AWS authorizes the ARN it names, then says NotFound
            pass
        return [iam.arn(self, "kms", f"key/{key}"), *aliases], None

    KmsResponse._authenticate_and_authorize_normal_action = iam.authorize_each(kms_resources)
