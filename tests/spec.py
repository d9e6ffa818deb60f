"""Checks real responses against the OpenAPI document the app serves.

Every request made through the ``api`` fixture is validated here: the status must be documented
for the route, and a JSON body must match the documented schema (objects are closed, so an
undocumented key fails too). A test of behaviour is thereby also a test of the documentation.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema


@cache
def _compiled(spec_id: int, paths: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for template in paths:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        compiled.append((re.compile(pattern), template))
    # Literal segments win over parameters (/api/timesheets/active before /api/timesheets/{id}).
    compiled.sort(key=lambda item: item[1].count("{"))
    return compiled


def route_template(spec: dict[str, Any], path: str) -> str | None:
    for pattern, template in _compiled(id(spec), tuple(spec["paths"])):
        if pattern.match(path):
            return template
    return None


def check_response(spec: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    template = route_template(spec, path)
    if template is None:
        return  # unknown route: the generic 404 is checked by its own tests
    operation = spec["paths"][template].get(method.lower())
    if operation is None:
        assert status == 405, f"{method} {template} answered {status} but the method is undocumented"
        return
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {template}: undocumented status {status}"
    content = documented[str(status)].get("content", {}).get("application/json")
    if content is None or body is None:
        return
    schema = dict(content["schema"])
    schema["components"] = spec.get("components", {})
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {template} {status}: response disagrees with the spec: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
