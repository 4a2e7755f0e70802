"""IAM's policy simulator for the local AWS: moto has neither
SimulatePrincipalPolicy nor GetContextKeysForPrincipalPolicy, so both are
served here from the roles, policies and SCPs moto stores. The evaluation is
@cloud-copilot/iam-simulate (local/iam/simulate.mjs, run by Node.js);
this module gathers a role's policies as AWS does and shapes the answer as
the IAM API Reference gives it (SimulatePrincipalPolicy, EvaluationResult,
ResourceSpecificResult)."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.parse
from pathlib import Path

_SCRIPT = Path(__file__).parent / "iam" / "simulate.mjs"


class _Evaluator:
    """One Node.js process, started on first use, asked one line at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def __call__(self, request: dict) -> dict:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                if not (_SCRIPT.parent / "node_modules").is_dir():
                    raise RuntimeError("the IAM simulator is not installed: run scripts/setup")
                self._process = subprocess.Popen(
                    ["node", str(_SCRIPT)], cwd=_SCRIPT.parent, text=True,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            return json.loads(self._process.stdout.readline())


evaluate = _Evaluator()


def _document(text: str) -> dict:
    # moto keeps a document as it was sent; the SDKs URL-encode none, but
    # IAM's own Get* answers are URL-encoded, so accept both.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(urllib.parse.unquote(text))


def _default_version(policy) -> dict:
    return _document(next(v.document for v in policy.versions if v.is_default))


def _role_policies(backend, role) -> list[tuple[str, str, dict]]:
    """(id, SourcePolicyType, document) of each identity policy of `role`:
    its inline policies, then its attached managed ones."""
    policies = [(name, "role", _document(doc)) for name, doc in role.policies.items()]
    for arn, policy in role.managed_policies.items():
        kind = "aws-managed" if ":aws:policy/" in arn else "user-managed"
        policies.append((policy.name, kind, _default_version(policy)))
    return policies


def _scps(account: str) -> list[dict]:
    """The SCPs over `account`, root first and the account's own last, as
    iam-simulate takes them; none when the account is in no organization,
    the root has SCPs disabled, or it is the management account ("SCPs don't
    affect users or roles in the management account", Organizations User
    Guide, "Service control policies")."""
    from moto.organizations.models import organizations_backends

    for backends in organizations_backends.values():
        backend = backends.get("aws")
        org = getattr(backend, "org", None)
        member = next((a for a in getattr(backend, "accounts", []) if a.id == account), None)
        if org is None or member is None:
            continue
        if org.master_account_id == account:
            return []
        root = backend.ou[0] if backend.ou else None
        if root is None or not any(t.get("Type") == "SERVICE_CONTROL_POLICY" and t.get("Status") == "ENABLED"
                                   for t in root.policy_types):
            return []
        chain = []
        node = member
        while node is not None:
            chain.append(node)
            parent = getattr(node, "parent_id", None)
            node = next((ou for ou in backend.ou if ou.id == parent), None) if parent else None
        return [{"orgIdentifier": n.id, "policies": [
            {"name": p.name, "policy": json.loads(p.content)}
            for p in n.attached_policies if p.type == "SERVICE_CONTROL_POLICY"]}
            for n in reversed(chain)]
    return []


def _condition_keys(document: dict) -> set[str]:
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return {key for s in statements for op in (s.get("Condition") or {}).values() for key in op}


def _role_of(backend, arn: str):
    from moto.iam.exceptions import NoSuchEntity

    role = next((r for r in backend.roles.values() if r.arn == arn), None)
    if role is None:
        raise NoSuchEntity(f"The role with ARN {arn} cannot be found.")
    return role


def extend() -> None:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import InvalidInput, ValidationError
    from moto.iam.responses import IamResponse

    from local.model_check import model_error

    def checked(operation: str, params: dict) -> None:
        error = model_error("iam", operation, params)
        if error:
            raise ValidationError(error)

    def simulate_principal_policy(self):
        params = {k: v for k, v in self.params.items() if k != "Action" and k != "Version"}
        checked("SimulatePrincipalPolicy", params)
        role = _role_of(self.backend, params["PolicySourceArn"])
        policies = _role_policies(self.backend, role)
        identity = [{"name": name, "policy": doc} for name, _, doc in policies]
        types = {name: kind for name, kind, _ in policies}
        boundary = None
        if role.permissions_boundary_arn:
            boundary_policy = self.backend.get_policy(role.permissions_boundary_arn)
            boundary = [{"name": boundary_policy.name, "policy": _default_version(boundary_policy)}]
        context = {}
        for entry in params.get("ContextEntries", []):
            values = entry.get("ContextKeyValues", [])
            listed = entry.get("ContextKeyType", "string").endswith("List")
            context[entry["ContextKeyName"]] = values if listed or len(values) != 1 else values[0]
        scps = _scps(self.current_account)
        results = []
        for action in params["ActionNames"]:
            per_resource = []
            for resource in params.get("ResourceArns") or ["*"]:
                answer = evaluate({
                    "principal": role.arn, "action": action, "resource": resource,
                    "account": self.current_account, "context": context,
                    "identity": identity, "boundary": boundary, "scps": scps})
                if "error" in answer:
                    raise InvalidInput(answer["error"][:500])
                per_resource.append((resource, answer))
            results.append(_evaluation_result(action, per_resource, types, bool(params.get("ResourceArns"))))
        start = int(params.get("Marker") or 0)
        page = results[start:start + int(params.get("MaxItems") or 100)]
        truncated = start + len(page) < len(results)
        answer = {"EvaluationResults": page, "IsTruncated": truncated}
        if truncated:
            answer["Marker"] = str(start + len(page))
        return ActionResult(answer)

    def get_context_keys_for_principal_policy(self):
        params = {k: v for k, v in self.params.items() if k != "Action" and k != "Version"}
        checked("GetContextKeysForPrincipalPolicy", params)
        role = _role_of(self.backend, params["PolicySourceArn"])
        keys: set[str] = set()
        for _, _, doc in _role_policies(self.backend, role):
            keys |= _condition_keys(doc)
        for text in params.get("PolicyInputList", []):
            keys |= _condition_keys(_document(text))
        return ActionResult({"ContextKeyNames": sorted(keys)})

    IamResponse.simulate_principal_policy = simulate_principal_policy
    IamResponse.get_context_keys_for_principal_policy = get_context_keys_for_principal_policy


_RANK = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}


def _evaluation_result(action: str, per_resource: list[tuple[str, dict]], types: dict[str, str],
                       listed: bool) -> dict:
    """One EvaluationResult per action, whatever the number of resources: the
    top-level decision is the most restrictive one, and each resource's own
    is in ResourceSpecificResults (IAM API Reference, EvaluationResult). With
    ResourceArns listed, the missing context keys are reported per resource,
    not at the top (ResourceSpecificResult, MissingContextValues)."""

    def statements(answer: dict) -> list[dict]:
        return [{"SourcePolicyId": name, "SourcePolicyType": types.get(name, "none")} for name in answer["matched"]]

    def details(answer: dict, into: dict) -> dict:
        if answer["boundaryAllowed"] is not None:
            into["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": answer["boundaryAllowed"]}
        return into

    worst = max((answer for _, answer in per_resource), key=lambda a: _RANK[a["decision"]])
    result = details(worst, {"EvalActionName": action, "EvalResourceName": per_resource[0][0],
                             "EvalDecision": worst["decision"], "MatchedStatements": statements(worst)})
    if worst["organizationsAllowed"] is not None:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": worst["organizationsAllowed"]}
    if listed:
        result["ResourceSpecificResults"] = [details(answer, {
            "EvalResourceName": resource, "EvalResourceDecision": answer["decision"],
            "MatchedStatements": statements(answer), "MissingContextValues": answer["missing"]})
            for resource, answer in per_resource]
        result["MissingContextValues"] = []
    else:
        result["MissingContextValues"] = worst["missing"]
    return result
