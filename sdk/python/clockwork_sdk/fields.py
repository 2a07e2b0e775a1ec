"""Fields many types share, with the same names and docs as the bundled plugins.

Why: the host and users expect `description` on every type and
`timeout_seconds` on assertions to mean the same thing everywhere; a
resource type must have `name` and a connection type `to_resource`
(the host refuses the plugin otherwise). Same as `clockwork_sdk::fields`
in the Rust SDK.
"""

from __future__ import annotations

from .schema import Field


def name() -> Field:
    """`name`: the declaration's name. Every resource type needs it."""
    return Field(
        "name",
        "string",
        "Name of the declaration, unique in the project. When left out it is derived from the "
        "variable the declaration is bound to (`api_server` → `api-server`).",
        forces_replace=True,
    )


def assertion_name() -> Field:
    """`name` of an assertion: how reports call it."""
    return Field(
        "name",
        "string",
        "How reports call this check, unique among the project's assertions, e.g. `api-answers`. "
        "Left out: the declaration it is attached to and its type (`api-server-healthcheck`), "
        "numbered from the second.",
    )


def description() -> Field:
    """`description`: free text for humans and for AI completion."""
    return Field(
        "description",
        "string",
        "What this is for, in plain words. Shown in plans; the context AI completion uses to "
        "fill missing fields.",
    )


def timeout_seconds(default: int) -> Field:
    """`timeout_seconds`: how long the host retries a failing assertion."""
    return Field(
        "timeout_seconds",
        "int",
        "How long `clockwork assert` keeps retrying a failing check before reporting it, in seconds.",
        default=default,
    )


def to_resource() -> Field:
    """`to_resource`: a connection's target. Every connection type needs it."""
    return Field(
        "to_resource",
        "resource",
        "The declaration this connection goes to. Set by `.connect(...)` when the connection is "
        "passed to it; required otherwise.",
    )
