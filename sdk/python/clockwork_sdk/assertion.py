"""Assertion plugins (the `assertion` world): `describe` and `validate` from
declarations, and outcomes in one call.

Subclass `AssertionPlugin` as the class componentize-py looks for,
`Assertions`, set `meta` and `types`, and write `check`:

    class Assertions(AssertionPlugin, exports.Assertions):
        meta = Meta("my-checks", "0.1.0", "checks things")
        types = [AssertionDef(MY_TYPE, timeout_seconds=10)]

        def check(self, input):
            config = self.config(input)
            ...
            return passed("it holds")

Listing `exports.Assertions` (the generated protocol) second is optional;
it gives type checkers the exact signatures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import fields
from .diagnostics import plugin_failed
from .schema import Meta, SchemaError, TypeDef, json_text, lookup

if TYPE_CHECKING:
    from wit_world.exports.assertions import AssertionDescription, AssertionType, CheckInput, Outcome
    from wit_world.imports.types import Diagnostic

#: The retry budget when neither the type nor `AssertionDef` sets one, as in the Rust SDK.
DEFAULT_TIMEOUT_SECONDS = 30

Timings = Union[Mapping[str, int], Iterable[Tuple[str, int]]]
"""Phases measured, as name → microseconds (`{"connect": 412}`) or as pairs."""


@dataclass(frozen=True)
class AssertionDef:
    """One assertion type: its schema, how long the host retries it, whether waiting helps.

    Why it adds fields: every assertion type has `name`, `description` and
    `timeout_seconds`, and `timeout_seconds`' default must agree with
    `default-timeout-ms`. Both are added when `type` does not declare them;
    when it declares `timeout_seconds`, its default is the timeout, and a
    different `timeout_seconds=` here is a `SchemaError`.
    """

    type: TypeDef
    timeout_seconds: Optional[int] = None
    retryable: bool = True
    """`False` for checks whose answer cannot change by waiting: the host does not retry them."""

    def __post_init__(self) -> None:
        typedef = self.type
        if typedef.field("name") is None:
            typedef = typedef.with_fields(fields.assertion_name())
        if typedef.field("description") is None:
            typedef = typedef.with_fields(fields.description())
        declared = typedef.field("timeout_seconds")
        seconds = self.timeout_seconds
        if declared is not None:
            default = declared.default
            if str(declared.parsed) != "int" or not isinstance(default, int) or isinstance(default, bool):
                raise SchemaError([f"{typedef.name}: field `timeout_seconds` must be an `int` with a default"])
            if seconds is not None and seconds != default:
                raise SchemaError(
                    [f"{typedef.name}: timeout_seconds={seconds} disagrees with the field's default {default}"]
                )
            seconds = default
        else:
            seconds = DEFAULT_TIMEOUT_SECONDS if seconds is None else seconds
            typedef = typedef.with_fields(fields.timeout_seconds(seconds))
        if not 0 <= seconds <= 4_294_967:
            raise SchemaError([f"{typedef.name}: timeout of {seconds} s does not fit `default-timeout-ms` (a u32)"])
        object.__setattr__(self, "type", typedef)
        object.__setattr__(self, "timeout_seconds", seconds)

    @property
    def name(self) -> str:
        """The type name."""
        return self.type.name

    def to_wit(self) -> "AssertionType":
        """The `assertion-type` record for `describe`."""
        assert self.timeout_seconds is not None
        from wit_world.exports.assertions import AssertionType

        return AssertionType(
            schema=self.type.to_wit(),
            default_timeout_ms=self.timeout_seconds * 1000,
            retryable=self.retryable,
        )


class AssertionPlugin:
    """`describe` and `validate` of the `assertions` interface, from `meta` and `types`.

    `validate` checks the config against the declared fields, runs
    `check_config` for the plugin's own rules, and returns the config with
    the declared defaults (the contract for assertions), raising
    `Err([Diagnostic, ...])` with every problem. Override `check`.
    """

    meta: ClassVar[Meta]
    """Who the plugin is."""
    types: ClassVar[Sequence[AssertionDef]]
    """The assertion types it provides; at least one."""

    def describe(self) -> "AssertionDescription":
        """The plugin and its types, from `meta` and `types`."""
        from wit_world.exports.assertions import AssertionDescription

        return AssertionDescription(
            plugin=self.meta.to_wit(), types=[t.to_wit() for t in self.types]
        )

    def validate(self, type_name: str, config: str) -> str:
        """Checks one assertion's config; returns it as JSON text with defaults."""
        typedef = lookup((t.type for t in self.types), type_name)
        checked = typedef.validate(
            config, fill_defaults=True, checks=lambda values: self.check_config(type_name, values)
        )
        return json_text(checked)

    def check_config(self, type_name: str, config: Dict[str, Any]) -> Iterable["Diagnostic"]:
        """The plugin's own rules, beyond types and required fields: yield a
        `Diagnostic` per problem (`error(...)`, `warning(...)`).

        `config` holds only well-typed fields, with defaults; fields without
        a default may be missing. The default has no rules.
        """
        return ()

    def config(self, input: "CheckInput") -> Dict[str, Any]:
        """`input.config` as a dict, with the type's defaults filled in.

        Why not just `json.loads(input.config)`: when `validate` reports only
        warnings, the host passes the config as the user wrote it, without
        the defaults `validate` would have added.
        """
        typedef = next((t.type for t in self.types if t.name == input.type_name), None)
        if typedef is None:
            raise plugin_failed(f"this plugin has no type `{input.type_name}`")
        return typedef.with_defaults(json.loads(input.config))

    def check(self, input: "CheckInput") -> "Outcome":
        """Runs one check. Override it; this one says it is not implemented."""
        raise plugin_failed("`check` is not implemented by this plugin")


def passed(
    message: str,
    *,
    expected: Optional[str] = None,
    actual: Optional[str] = None,
    details: Any = None,
    timings: Timings = (),
) -> "Outcome":
    """A passing outcome. `message` is one line for humans; `details` any
    JSON-able value for JSON and JUnit reports (`{}` when left out)."""
    return _outcome("PASS", message, expected, actual, details, timings)


def failed(
    message: str,
    *,
    expected: Optional[str] = None,
    actual: Optional[str] = None,
    details: Any = None,
    timings: Timings = (),
) -> "Outcome":
    """A failing outcome: the assertion does not hold. Say what was `expected`
    and what was `actual`ly found, for reports.

    Not for a check that could not run (no answer, not allowed): raise
    `plugin_failed`, `plugin_transient` or `from_host_error(...)` instead,
    so the host reports an error rather than a failure.
    """
    return _outcome("FAIL", message, expected, actual, details, timings)


def skipped(message: str, *, details: Any = None) -> "Outcome":
    """A skipped outcome: the assertion does not apply (e.g. its target is not deployed)."""
    return _outcome("SKIP", message, None, None, details, ())


def _outcome(
    verdict: str,
    message: str,
    expected: Optional[str],
    actual: Optional[str],
    details: Any,
    timings: Timings,
) -> "Outcome":
    pairs: List[Tuple[str, int]] = list(timings.items() if isinstance(timings, Mapping) else timings)
    for phase, micros in pairs:
        if not isinstance(micros, int) or isinstance(micros, bool) or micros < 0:
            raise TypeError(f"timing `{phase}` must be a whole number of microseconds, got {micros!r}")
    from wit_world.exports.assertions import Outcome, Verdict

    return Outcome(
        verdict=Verdict[verdict],
        message=message,
        expected=expected,
        actual=actual,
        details=json_text({} if details is None else details),
        timings=pairs,
    )
