"""Systems Manager Parameter Store as AWS has it where moto 5.2.5 differs: DescribeParameters'
page size (and pages served from the listing), parameter policies as JSON text, no way back from
the Advanced tier, each request authorized against the parameters it names, the "Parameter Store
Change" events each change emits (delivered by events.py), who wrote each version
(LastModifiedUser), GetParameterHistory's bounds; and one test facility (a parameter written long
ago)."""

from __future__ import annotations

import contextvars
import datetime
import functools
import json

from . import iam
from .policy import tag_keys
from .source import require_source


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

# AWS's answer to a name that is not a parameter name (invalid characters, a path that does not
# begin with a slash, an empty level): the message it gives for a name prefixed with "ssm".
INVALID_NAME_MESSAGE = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can '
    "consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, "
    "numbers and the following 3 symbols .-_"
)
HIERARCHY_MESSAGE = (
    "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and "
    "constraints for parameter names in the AWS Systems Manager User Guide."
)
# AWS: at most 1011 characters, counting the ARN before the name (arn:aws:ssm:<region>:<account>:parameter/).
NAME_AND_ARN_LIMIT = 1011
MAX_LEVELS = 15


def name_refusal(name: str, arn_prefix: str):
    """AWS's error for a parameter name it refuses and moto accepts, or None. moto itself refuses
    the names prefixed with "aws" or "ssm" (as AWS does)."""
    import re

    from moto.ssm.exceptions import SSMException, ValidationException

    if not re.fullmatch(r"[a-zA-Z0-9_.\-/]+", name or ""):
        return ValidationException(INVALID_NAME_MESSAGE)
    if "/" in name and (not name.startswith("/") or "" in name[1:].split("/")):
        return ValidationException(INVALID_NAME_MESSAGE)
    if len(name.strip("/").split("/")) > MAX_LEVELS:
        return SSMException("HierarchyLevelLimitExceededException", HIERARCHY_MESSAGE)
    if len(arn_prefix + name.lstrip("/")) > NAME_AND_ARN_LIMIT:
        return ValidationException(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must have length less than or equal to {NAME_AND_ARN_LIMIT - len(arn_prefix)}"
        )
    return None


def patch_parameter_names() -> None:
    """PutParameter refuses the names AWS refuses: characters other than a-zA-Z0-9_.-/, a path
    that does not begin with a slash or has an empty level, more than 15 levels, more than 1011
    characters with the ARN before it. moto refused only the names prefixed with aws or ssm."""
    from moto.ssm.models import SimpleSystemManagerBackend
    from moto.utilities.utils import get_partition

    require_source(
        SimpleSystemManagerBackend.put_parameter,
        'if name.lower().lstrip("/").startswith("aws") or name.lower().lstrip(',
        "If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be ",
    )
    original = SimpleSystemManagerBackend.put_parameter

    # functools.wraps: the corrections applied after this one check moto's code, not this.
    @functools.wraps(original)
    def put_parameter(self, name, *args, **kwargs):
        prefix = f"arn:{get_partition(self.region_name)}:ssm:{self.region_name}:{self.account_id}:parameter/"
        refused = name_refusal(name, prefix)
        if refused is not None:
            raise refused
        return original(self, name, *args, **kwargs)

    SimpleSystemManagerBackend.put_parameter = put_parameter


def is_managed_key(key_id: str) -> bool:
    """SSM's AWS managed key, by its alias or alias ARN: it exists everywhere (AWS creates it on
    first use), and its key policy lets every principal of the account use it through SSM."""
    return key_id == "alias/aws/ssm" or key_id.endswith(":alias/aws/ssm")


def resolve_key(account_id: str, region: str, key_id: str):
    """The ARN of the customer key `key_id` names for a parameter of `region` (a key ARN in the
    account it names), or None when it cannot encrypt there: no such key or alias, or a key of
    another region."""
    from moto.kms.models import kms_backends

    if key_id.startswith("arn:"):
        parts = key_id.split(":")
        if len(parts) < 6 or parts[3] != region:
            return None
        account_id = parts[4]
    try:
        return kms_backends[account_id][region].describe_key(key_id).arn
    except Exception:  # moto raises its own NotFound for an unknown id, ARN or alias
        return None


def previous_key(backend, name):
    """The key the parameter's latest version was encrypted under (None: none, or the managed
    key)."""
    versions = backend._parameters.get(name) if isinstance(name, str) and name in backend._parameters else None
    return getattr(versions[-1], "keeper_key_arn", None) if versions else None


def patch_parameter_keys() -> None:
    """PutParameter of a SecureString refuses a KeyId that names no key of the parameter's region
    (InvalidKeyId, as AWS: SSM asks KMS to encrypt with it); moto stored any KeyId. Each version
    remembers the key it was encrypted under (`keeper_key_arn`), as the ciphertext does: a read
    asks KMS about that key, wherever its alias points since."""
    from moto.ssm.exceptions import SSMException
    from moto.ssm.models import SimpleSystemManagerBackend

    require_source(SimpleSystemManagerBackend.put_parameter, "keyid: str,")
    original = SimpleSystemManagerBackend.put_parameter

    @functools.wraps(original)
    def put_parameter(self, name, description, value, parameter_type, allowed_pattern, keyid, *args, **kwargs):
        key_arn = None
        if parameter_type == "SecureString" and keyid and not is_managed_key(keyid):
            key_arn = resolve_key(self.account_id, self.region_name, keyid)
            if key_arn is None:
                raise SSMException("InvalidKeyId", f"Invalid keyId {keyid}")
        elif parameter_type == "SecureString" and not keyid:
            key_arn = previous_key(self, name)  # an overwrite without KeyId keeps the key
        written = original(self, name, description, value, parameter_type, allowed_pattern, keyid, *args, **kwargs)
        if written is not None:
            written.keeper_key_arn = key_arn
        return written

    SimpleSystemManagerBackend.put_parameter = put_parameter


def patch_parameter_age() -> None:
    """PutParameter with the header `x-emulator-age-seconds: N` backdates the version it writes
    by N seconds (its LastModifiedDate), as a parameter written that long ago would be: the lock
    expires by AWS's clock, which a test cannot wait for."""
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



def parameter_tags(backend, name: str) -> dict:
    """The tags of a parameter, {} for one that does not exist."""
    try:
        return dict(backend.list_tags_for_resource("Parameter", name))
    except Exception:  # moto's InvalidResourceId for a parameter that does not exist
        return {}


def patch_iam_resources() -> None:
    """Each request is authorized against the ARN of each parameter it names (`Name`, `Names`,
    `ResourceId`; moto checked `*`), with the condition keys of its tags (aws:ResourceTag/<k>)
    and of the tags the request sets (aws:RequestTag/<k>: PutParameter's and
    AddTagsToResource's Tags); PutParameter with Tags also as ssm:AddTagsToResource."""
    from moto.ssm.models import SimpleSystemManagerBackend
    from moto.ssm.responses import SimpleSystemManagerResponse

    require_source(
        SimpleSystemManagerBackend.list_tags_for_resource,
        "return self._resource_tags[resource_type][resource_id]",
    )

    def ssm_resources(self, request):
        names = request.get("Names") or ([request["Name"]] if "Name" in request else [])
        if request.get("ResourceType") == "Parameter" and "ResourceId" in request:
            names = [request["ResourceId"]]  # AddTagsToResource, RemoveTagsFromResource
        by_arn = {iam.arn(self, "ssm", "parameter/" + n.lstrip("/")): n for n in names}
        request_tags = tag_keys(
            "aws:RequestTag", {t.get("Key"): t.get("Value") for t in request.get("Tags") or []}
        )

        def values(resource):
            name = by_arn.get(resource)
            tags = parameter_tags(self.ssm_backend, name) if name else {}
            return {**request_tags, **tag_keys("aws:ResourceTag", tags)}

        return list(by_arn), values

    authorize_ssm = iam.authorize_each(ssm_resources)

    def authorize_ssm_and_tags(self, resource="*"):
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        # Read before this request counts: its KMS part is enforced exactly when its SSM part is.
        enforcing = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
        authorize_ssm(self, resource)
        # PutParameter with Tags also needs ssm:AddTagsToResource on the parameter, as in AWS.
        request = iam.json_request(self)
        if self._get_action() == "PutParameter" and request.get("Tags"):
            token = iam.action.set("ssm:AddTagsToResource")
            try:
                authorize_ssm(self, resource)
            finally:
                iam.action.reset(token)
        # SSM then asks KMS on the caller's behalf.
        if enforcing:
            for kms_action, key_arn in kms_requests(self, self._get_action(), request):
                authorize_kms(self, kms_action, key_arn)

    SimpleSystemManagerResponse._authenticate_and_authorize_normal_action = authorize_ssm_and_tags


# SSM's AWS managed key needs no IAM permission (is_managed_key); a customer key does.
# Standard parameters are encrypted with kms:Encrypt, Advanced ones with envelope encryption
# (kms:GenerateDataKey); every read with WithDecryption is a kms:Decrypt (AWS's "How AWS
# Systems Manager Parameter Store uses AWS KMS").
STANDARD_VALUE_LIMIT = 4096


def _versions_read(backend, action: str, request: dict):
    """The parameter versions a read with WithDecryption returns (none without it)."""
    if not request.get("WithDecryption"):
        return []
    if action == "GetParameterHistory":
        name = request.get("Name")
        return list(backend._parameters.get(name, [])) if isinstance(name, str) and name in backend._parameters else []
    if action == "GetParametersByPath":
        path = request.get("Path")
        if not isinstance(path, str):
            return []
        prefix = path.rstrip("/") + "/"
        recursive = bool(request.get("Recursive"))
        return [
            versions[-1]
            for name, versions in list(backend._parameters.items())
            if versions and name.startswith(prefix) and (recursive or "/" not in name[len(prefix):])
        ]
    names = request.get("Names") if action == "GetParameters" else [request.get("Name")]
    found = []
    for name in names if isinstance(names, list) else []:
        try:
            parameter = backend.get_parameter(name) if isinstance(name, str) else None
        except Exception:  # the read itself answers for a name that is no parameter
            parameter = None
        if parameter is not None:
            found.append(parameter)
    return found


def _advanced(backend, request: dict) -> bool:
    """Whether PutParameter writes an Advanced parameter: asked for, chosen by Intelligent-Tiering
    for a value over 4 KB, or kept from the parameter it overwrites (Advanced never goes back)."""
    tier = request.get("Tier")
    value = request.get("Value")
    large = isinstance(value, str) and len(value.encode()) > STANDARD_VALUE_LIMIT
    versions = backend._parameters.get(request.get("Name")) if isinstance(request.get("Name"), str) else None
    was_advanced = bool(versions) and versions[-1].tier == "Advanced"
    return tier == "Advanced" or (tier == "Intelligent-Tiering" and large) or was_advanced


def kms_requests(response, action: str, request: dict):
    """What SSM asks KMS for a request, on the caller's behalf: (KMS action, key ARN) for each
    customer key involved: the key a write names (as it resolves now), the key each version
    read was encrypted under."""
    backend = response.ssm_backend
    out = []
    if action == "PutParameter":
        key_id = request.get("KeyId")
        key_arn = None
        if request.get("Type") == "SecureString" and isinstance(key_id, str) and key_id:
            if not is_managed_key(key_id):
                # None: PutParameter answers InvalidKeyId.
                key_arn = resolve_key(response.current_account, response.region, key_id)
        elif request.get("Type") == "SecureString" and key_id is None:
            key_arn = previous_key(backend, request.get("Name"))
        if key_arn is not None:
            out.append(("kms:GenerateDataKey" if _advanced(backend, request) else "kms:Encrypt", key_arn))
    elif action in ("GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"):
        for version in _versions_read(backend, action, request):
            key_arn = getattr(version, "keeper_key_arn", None)
            if version.parameter_type == "SecureString" and key_arn:
                out.append(("kms:Decrypt", key_arn))
    return list(dict.fromkeys(out))


def authorize_kms(response, kms_action: str, key_arn: str) -> None:
    """The caller's permission for what SSM asks KMS: `kms_action` on the key, through SSM
    (kms:ViaService ssm.<region>.amazonaws.com), with the key's tags (looked up in the account
    and region its ARN names)."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.kms.models import kms_backends

    from . import kms

    parts = key_arn.split(":")
    backend = kms_backends[parts[4]][parts[3]]
    via_ssm = {"kms:ViaService": f"ssm.{response.region}.amazonaws.com"}
    actions = iam.action.set(kms_action)
    conditions = iam.conditions.set({**via_ssm, **kms.key_conditions(backend, key_arn)})
    try:
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(response, key_arn)
    finally:
        iam.action.reset(actions)
        iam.conditions.reset(conditions)


# ---------------------------------------------------------------------------------------------
# Parameter Store's change events, who wrote each version, GetParameterHistory
# ---------------------------------------------------------------------------------------------

# The ARN of the caller of the SSM request in progress (STS GetCallerIdentity's answer for its
# access key), for the version a PutParameter writes.
caller_arn = contextvars.ContextVar("ssm_caller_arn", default=None)


def _parameter_change(backend, parameter, operation: str) -> None:
    """AWS's "Parameter Store Change" event for one parameter, on the default bus of the
    parameter's account and region (EventBridge user guide, "Parameter Store events")."""
    from moto.utilities.utils import get_partition

    from . import events

    name = parameter.name
    arn = (
        f"arn:{get_partition(backend.region_name)}:ssm:{backend.region_name}:{backend.account_id}:"
        f"parameter/{name.lstrip('/')}"
    )
    detail = {
        "name": name,
        "type": parameter.parameter_type,
        "operation": operation,
        "description": parameter.description or "",
    }
    events.emit_aws_event(
        backend.account_id, backend.region_name, "aws.ssm", "Parameter Store Change", [arn], detail
    )


def patch_change_events() -> None:
    """Parameter Store emits a "Parameter Store Change" event to the default bus of the region
    for each change, as AWS does: PutParameter (`Create` for a new name, `Update` otherwise),
    DeleteParameter and DeleteParameters (`Delete`, one event per deleted name),
    LabelParameterVersion (`LabelParameterVersion`). moto emitted nothing."""
    from moto.ssm.models import SimpleSystemManagerBackend

    require_source(SimpleSystemManagerBackend.put_parameter, "return new_param")
    require_source(
        SimpleSystemManagerBackend.delete_parameter,
        "result = self._parameters.pop(normalized_parameter_name, None)",
    )
    require_source(
        SimpleSystemManagerBackend.delete_parameters,
        "del self._parameters[normalized_parameter_name]",
        "result.append(name)",
    )
    require_source(SimpleSystemManagerBackend.label_parameter_version, "return invalid_labels, version")

    def latest(backend, name):
        versions = backend._parameters.get(backend._parameters.normalize_name(name))
        return versions[-1] if versions else None

    original_put = SimpleSystemManagerBackend.put_parameter

    @functools.wraps(original_put)
    def put_parameter(self, name, *args, **kwargs):
        existed = bool(self._parameters.get(name))
        parameter = original_put(self, name, *args, **kwargs)
        user = caller_arn.get()
        if user:
            parameter.last_modified_user = user
        _parameter_change(self, parameter, "Update" if existed else "Create")
        return parameter

    original_delete = SimpleSystemManagerBackend.delete_parameter

    @functools.wraps(original_delete)
    def delete_parameter(self, name):
        parameter = latest(self, name)
        original_delete(self, name)
        _parameter_change(self, parameter, "Delete")

    original_delete_many = SimpleSystemManagerBackend.delete_parameters

    @functools.wraps(original_delete_many)
    def delete_parameters(self, names):
        before = {name: latest(self, name) for name in names}
        deleted = original_delete_many(self, names)
        for name in deleted:
            if before.get(name) is not None:
                _parameter_change(self, before[name], "Delete")
        return deleted

    original_label = SimpleSystemManagerBackend.label_parameter_version

    @functools.wraps(original_label)
    def label_parameter_version(self, name, version, labels):
        result = original_label(self, name, version, labels)
        _parameter_change(self, latest(self, name), "LabelParameterVersion")
        return result

    SimpleSystemManagerBackend.put_parameter = put_parameter
    SimpleSystemManagerBackend.delete_parameter = delete_parameter
    SimpleSystemManagerBackend.delete_parameters = delete_parameters
    SimpleSystemManagerBackend.label_parameter_version = label_parameter_version


def patch_last_modified_user() -> None:
    """Each version records who wrote it: `LastModifiedUser` (GetParameterHistory,
    DescribeParameters) is the ARN of the caller of the PutParameter that wrote it, as STS
    GetCallerIdentity names it (an IAM user's or an assumed role's ARN under enforced IAM;
    moto's default identity `arn:aws:sts::<account>:user/moto` otherwise). moto answered "N/A"."""
    from moto.ssm.models import Parameter
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.sts.models import STSBackend, sts_backends
    from moto.utilities.utils import get_partition

    require_source(Parameter.describe_response_object, 'r["LastModifiedUser"] = "N/A"')
    require_source(STSBackend.get_caller_identity, "return user_id, arn, self.account_id")
    original_describe = Parameter.describe_response_object

    def describe_response_object(self, decrypt=False, include_labels=False):
        r = original_describe(self, decrypt, include_labels)
        r["LastModifiedUser"] = getattr(self, "last_modified_user", None) or (
            f"arn:aws:sts::{self.account_id}:user/moto"
        )
        return r

    original_put = SimpleSystemManagerResponse.put_parameter

    def put_parameter(self):
        partition = get_partition(self.region)
        sts = sts_backends[self.current_account][partition]
        _, arn, _ = sts.get_caller_identity(self.get_access_key(), self.region)
        token = caller_arn.set(arn)
        try:
            return original_put(self)
        finally:
            caller_arn.reset(token)

    Parameter.describe_response_object = describe_response_object
    SimpleSystemManagerResponse.put_parameter = put_parameter


def patch_parameter_history() -> None:
    """GetParameterHistory as AWS answers it: MaxResults from 1 to 50 (moto let 0 through), and
    ParameterNotFound for a name that is no parameter (moto answered an empty history for a
    name a failed LabelParameterVersion had left behind). The rest is moto's and AWS's alike:
    pages of at most 50 with NextToken, the last 100 versions (the 101st PutParameter drops the
    oldest, refused with ParameterMaxVersionLimitExceeded when the oldest has a label), a
    deleted parameter forgotten with its history."""
    from moto.ssm.exceptions import ParameterNotFound, ValidationException
    from moto.ssm.models import PARAMETER_VERSION_LIMIT, SimpleSystemManagerBackend

    require_source(
        SimpleSystemManagerBackend.get_parameter_history,
        "if max_results > PARAMETER_HISTORY_MAX_RESULTS:",
        "if name in self._parameters:",
    )
    require_source(
        SimpleSystemManagerBackend.put_parameter,
        "if len(previous_parameter_versions) >= PARAMETER_VERSION_LIMIT:",
        "previous_parameter_versions.pop(0)",
    )
    if PARAMETER_VERSION_LIMIT != 100:
        from .source import PatchTargetMoved

        raise PatchTargetMoved("moto.ssm.models.PARAMETER_VERSION_LIMIT is no longer 100")
    original = SimpleSystemManagerBackend.get_parameter_history

    def get_parameter_history(self, name, next_token, max_results=50):
        if int(max_results) < 1:
            raise ValidationException(
                "1 validation error detected: "
                f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                "Member must have value greater than or equal to 1."
            )
        if not self._parameters.get(name):
            raise ParameterNotFound(f"Parameter {name} not found.")
        return original(self, name, next_token, int(max_results))

    SimpleSystemManagerBackend.get_parameter_history = get_parameter_history
