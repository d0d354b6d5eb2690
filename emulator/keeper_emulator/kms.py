"""Key Management Service as AWS has it where moto 5.2.5 differs: the key state operations take a
key ARN, and each request is authorized against the key it names (and CreateAlias against the
alias too). S3's calls to KMS on a caller's behalf are S3's (s3.py)."""

from __future__ import annotations

from . import iam
from .policy import tag_keys
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


def key_tags(backend, key_id: str) -> dict:
    """The tags of a key (any id, ARN or alias), {} for a key that does not exist."""
    try:
        tags = backend.list_resource_tags(backend.any_id_to_key_id(key_id))
    except Exception:  # moto raises its own NotFound for an unknown key
        return {}
    return {t["TagKey"]: t["TagValue"] for t in tags.get("Tags", [])}


def key_conditions(backend, key_id: str) -> dict:
    """The condition keys a request on this key carries: aws:ResourceTag/<k> for its tags."""
    return tag_keys("aws:ResourceTag", key_tags(backend, key_id))


def patch_iam_resources() -> None:
    """Each request is authorized against the key's ARN (moto checked `*`), with the condition
    keys of its tags (aws:ResourceTag/<k>) and of the tags it sets (aws:RequestTag/<k>:
    CreateKey's and TagResource's Tags)."""
    from moto.kms.exceptions import NotFoundException
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    require_source(KmsBackend.list_resource_tags, "return self.tagger.list_tags_for_resource(key_id)")

    def kms_resources(self, request):
        # CreateAlias is authorized on the key it targets and on the alias.
        key = request.get("KeyId") or request.get("TargetKeyId")
        aliases = [iam.arn(self, "kms", request["AliasName"])] if "AliasName" in request else []
        request_tags = tag_keys(
            "aws:RequestTag", {t.get("TagKey"): t.get("TagValue") for t in request.get("Tags") or []}
        )
        key_arn = None
        is_alias = bool(key) and (key.startswith("alias/") or ":alias/" in key)
        if key and key.startswith("arn:") and not is_alias:
            key_arn = key
        elif key:
            try:
                key_arn = iam.arn(self, "kms", f"key/{self.kms_backend.describe_key(key).id}")
            except Exception:
                if is_alias:
                    # An alias names no key: AWS has nothing to authorize against and answers
                    # NotFound whatever the caller may do (a tag-scoped policy included).
                    raise NotFoundException(f"Alias {key} is not found.") from None
                # An unknown key: AWS authorizes the ARN it names, then says NotFound.
                key_arn = iam.arn(self, "kms", f"key/{key}")

        def values(resource):
            if resource == key_arn:  # an alias has no tags of its own
                return {**request_tags, **key_conditions(self.kms_backend, key)}
            return dict(request_tags)

        return ([key_arn] if key_arn else []) + aliases, values

    KmsResponse._authenticate_and_authorize_normal_action = iam.authorize_each(kms_resources)
