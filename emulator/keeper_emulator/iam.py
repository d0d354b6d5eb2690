"""IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) as AWS authorizes: the action a request is
checked under, the condition values it carries, the signature of the request as it was sent,
and a denial in the protocol of the service that was asked. Which action and which resources a
request of each service is authorized for lives in that service's module (s3, ssm, kms,
cloudwatch); this module is the mechanism they share, as moto's `core/authorization.py` and
`iam/access_control.py` are."""

from __future__ import annotations

import contextvars
import json

from .policy import evaluate_policy
from .source import require_source

# The IAM action the request in progress is checked under, when its service's module knows
# better than moto (None: moto's own name).
action = contextvars.ContextVar("iam_action", default=None)
# The condition values of the request in progress, for the resource being checked (None: none
# known); a key absent is absent from the request, as AWS has it.
conditions = contextvars.ContextVar("iam_conditions", default=None)
# (method, path, body, headers) of the request as sent, when the CBOR bridge translated it.
signed_request = contextvars.ContextVar("signed_request", default=None)


def patch_enforcement() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, IAMRequestBase, PermissionResult

    require_source(
        ActionAuthenticatorMixin._authenticate_and_authorize_action,
        "action=self._get_action()",
        "iam_request.check_signature()",
        "iam_request.check_action_permitted(resource)",
    )
    require_source(IAMRequestBase.__init__, "self._action = (", 'f"{self._service}:')
    require_source(IAMPolicy.is_action_permitted, "incoming_condition_values: dict[str, str] | None = None")
    require_source(IAMPolicy.__init__, "self._policy_json = json.loads(policy_document)")
    require_source(
        IAMPolicyStatement.is_action_permitted,
        "if not self._check_conditions(incoming_condition_values):\n                return PermissionResult.DENIED",
    )

    original_init = IAMRequestBase.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        overridden = action.get()
        if overridden:
            self._action = overridden
        elif self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]
        elif self._action.startswith("tagging:"):  # the Resource Groups Tagging API's IAM prefix
            self._action = "tag:" + self._action.split(":", 1)[1]
        signed = signed_request.get()
        if signed is not None:  # the request as sent, before the CBOR bridge translated it
            self._method, self._path, self._body, self._headers = signed
            self._data = {}

    original_is_action_permitted = IAMPolicy.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        if principal is not None:  # a role's trust policy (AssumeRole...): moto's evaluation
            return original_is_action_permitted(self, action, resource, principal, incoming_condition_values)
        # An identity policy, evaluated as AWS does (moto answered DENIED for any statement whose
        # condition failed, Allow or Deny alike, and evaluated StringEquals alone).
        values = {**(conditions.get() or {}), **(incoming_condition_values or {})}
        context = {k.lower(): v for k, v in values.items()}
        return getattr(PermissionResult, evaluate_policy(self._policy_json, action, resource, context))

    IAMRequestBase.__init__ = __init__
    IAMPolicy.is_action_permitted = is_action_permitted


def json_request(response) -> dict:
    """The JSON body of a JSON-protocol request ({} when there is none)."""
    try:
        return json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}


def authorize_each(resources_of):
    """An authorization of a JSON-protocol service's request against each resource it names
    (`resources_of(response, request) -> (resources, condition values)`; no resource: `*`). The
    condition values are a dict, or a function of the resource (its tags are its own)."""
    from moto.core.authorization import ActionAuthenticatorMixin

    original_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self, resource="*"):
        resources, values = resources_of(self, json_request(self))
        for r in resources or ["*"]:
            token = conditions.set(values(r) if callable(values) else values)
            try:
                original_normal(self, r)
            finally:
                conditions.reset(token)

    return authorize


def arn(response, service: str, kind_and_name: str) -> str:
    """The ARN of a resource of `service` in the request's region and account."""
    from moto.utilities.utils import get_partition

    return (
        f"arn:{get_partition(response.region)}:{service}:{response.region}:"
        f"{response.current_account}:{kind_and_name}"
    )


def patch_json_denials() -> None:
    """A denial of a JSON-protocol request (X-Amz-Target) comes back in that protocol's shape, as
    AWS answers it (moto answered XML, which no JSON client can parse). CloudWatch's requests
    pass the CBOR bridge, which translates errors itself."""
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
