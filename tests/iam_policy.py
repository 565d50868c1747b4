"""A small IAM policy evaluator for the tests: does a set of policy statements allow one request?

No maintained Python library evaluates IAM policies offline (PyPI has generators and linters: policy_sentry,
parliament, policyuniverse; moto's ``access_control`` ignores ``NotResource``, matches actions case-sensitively
and turns a failed Allow condition into a Deny), so this one does just what the tests need, as documented in
the IAM User Guide's policy evaluation logic and element reference
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- an explicit Deny wins; otherwise an Allow allows; otherwise the request is implicitly denied;
- ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``; ``Resource``/``NotResource``
  case-sensitively with ``*`` and ``?``;
- ``Principal``: ``"*"``, ``{"Service": ...}`` or ``{"AWS": ...}``; a statement without one (an identity
  policy) applies to its role;
- conditions: the String, Arn and Bool operators (``...IfExists`` too); every key of a block must match
  (any of its values), a missing key never matches a positive operator. Any other operator raises, so an
  unsupported policy can never pass by accident.

It also resolves the intrinsic functions of a synthesized template that policies use (``Ref`` of pseudo
parameters, topics and queues, ``Fn::GetAtt`` Arn, ``Fn::Join``) into plain strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit deny", "implicit deny"


@dataclass(frozen=True)
class Request:
    action: str  # "dynamodb:DeleteItem"
    resource: str  # an ARN, or "*" for actions without resource types
    context: dict[str, str] = field(default_factory=dict)  # condition keys: "aws:SourceAccount" -> value
    principal: dict[str, str] | None = None  # {"Service": "cloudwatch.amazonaws.com"} for resource policies


@dataclass(frozen=True)
class Decision:
    outcome: str  # ALLOW, EXPLICIT_DENY or IMPLICIT_DENY
    sid: str = ""  # the statement that decided (the Deny, or the first Allow)

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOW


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = re.escape(pattern).replace("\\*", ".*").replace("\\?", ".")  # IAM's only wildcards: * and ?
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _matches(statement: dict[str, Any], key: str, value: str, *, case: bool) -> bool:
    """Whether the statement's ``key`` (or ``Not<key>``) element covers ``value``."""
    if key in statement:
        return any(_glob(p, value, case=case) for p in as_list(statement[key]))
    if f"Not{key}" in statement:
        return not any(_glob(p, value, case=case) for p in as_list(statement[f"Not{key}"]))
    raise ValueError(f"statement {statement.get('Sid', '')!r} has neither {key} nor Not{key}")


def _principal_matches(statement: dict[str, Any], request: Request) -> bool:
    if "Principal" not in statement:
        return request.principal is None  # an identity policy applies to its own role's requests
    principal = statement["Principal"]
    if principal == "*" or principal == {"AWS": "*"}:
        return True
    if request.principal is None:
        return False
    return any(value in as_list(principal.get(kind, [])) for kind, value in request.principal.items())


_STRING_OPERATORS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v, case=True),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": lambda p, v: _glob(p, v, case=True),
    "Bool": lambda p, v: str(p).lower() == str(v).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
            "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, block: dict[str, Any], context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    test = _STRING_OPERATORS.get(_NEGATED.get(base, base))
    if test is None:
        raise ValueError(f"condition operator {operator!r} is not supported by tests/iam_policy.py")
    for key, expected in block.items():
        if key not in context:
            if if_exists or negated:
                continue
            return False
        hit = any(test(str(pattern), context[key]) for pattern in as_list(expected))
        if hit == negated:
            return False
    return True


def statement_applies(statement: dict[str, Any], request: Request) -> bool:
    return (_principal_matches(statement, request)
            and _matches(statement, "Action", request.action, case=False)
            and _matches(statement, "Resource", request.resource, case=True)
            and all(_condition_holds(op, block, request.context)
                    for op, block in statement.get("Condition", {}).items()))


def evaluate(statements: list[dict[str, Any]], request: Request) -> Decision:
    """The decision of ``statements`` (all the policies that apply, flattened) on ``request``."""
    allowed_by = ""
    for statement in statements:
        if not statement_applies(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return Decision(EXPLICIT_DENY, statement.get("Sid", ""))
        allowed_by = allowed_by or statement.get("Sid", "?")
    return Decision(ALLOW, allowed_by) if allowed_by else Decision(IMPLICIT_DENY)


# ---- synthesized templates ----

@dataclass(frozen=True)
class TemplateContext:
    template: dict[str, Any]
    account: str
    region: str
    partition: str = "aws"

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by the string it stands for."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            name, attribute = value["Fn::GetAtt"]
            return self._get_att(name, attribute)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(p)) for p in parts)
        if any(key.startswith("Fn::") for key in value):
            raise ValueError(f"tests/iam_policy.py cannot resolve {value}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": self.account}
        if name in pseudo:
            return pseudo[name]
        resource = self.template["Resources"][name]
        if resource["Type"] == "AWS::SNS::Topic":
            return f"arn:{self.partition}:sns:{self.region}:{self.account}:{resource['Properties']['TopicName']}"
        raise ValueError(f"tests/iam_policy.py cannot resolve Ref {name} ({resource['Type']})")

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self.template["Resources"][name]
        if resource["Type"] == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{resource['Properties']['QueueName']}"
        raise ValueError(f"tests/iam_policy.py cannot resolve Fn::GetAtt {name}.{attribute}")

    def role_statements(self) -> dict[str, list[dict[str, Any]]]:
        """Function logical id -> every statement its role holds (inline policies and attached AWS::IAM::Policy)."""
        resources = self.template["Resources"]
        by_role: dict[str, list[dict[str, Any]]] = {}
        for name, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                if resource["Properties"].get("ManagedPolicyArns"):
                    raise ValueError(f"{name} has managed policies: tests/iam_policy.py does not read them")
                by_role[name] = [s for p in resource["Properties"].get("Policies", [])
                                 for s in self.resolve(p["PolicyDocument"])["Statement"]]
        for resource in resources.values():
            if resource["Type"] == "AWS::IAM::Policy":
                for role in resource["Properties"]["Roles"]:
                    by_role[role["Ref"]].extend(self.resolve(resource["Properties"]["PolicyDocument"])["Statement"])
        return {name: by_role[resource["Properties"]["Role"]["Fn::GetAtt"][0]]
                for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"}
