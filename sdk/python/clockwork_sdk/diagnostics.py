"""Diagnostics for `validate`, and the errors a call raises when it cannot run.

Why helpers: the WIT records are positional dataclasses (`Diagnostic`
takes four fields, `path` being a JSON Pointer that must be escaped), and
a WIT error is raised as `componentize_py_types.Err(...)` wrapping the
right `PluginError_...` case. These functions make the usual cases one
call and keep the host's conventions: a summary is one lower-case line
with no trailing period; a "did you mean" hint goes in `detail`, which the
host shows as help under the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List, Optional, Union

from .value_type import escape_pointer

# The bindings are imported inside each function, by the names
# componentize-py generates (see the package docstring for why).
if TYPE_CHECKING:
    from componentize_py_types import Err
    from wit_world.imports.types import Diagnostic, PluginError


def error(summary: str, path: Optional[str] = None, detail: Optional[str] = None) -> "Diagnostic":
    """An error: the config cannot be used (the host stops, exit code 2).

    `path` is a JSON Pointer into the config (`"/url"`, build one with
    `pointer`), which the host turns into the file, line and column of
    that keyword argument; `None` for the declaration as a whole.
    """
    from wit_world.imports.types import Diagnostic, Severity

    return Diagnostic(Severity.ERROR, summary, detail, path)


def warning(summary: str, path: Optional[str] = None, detail: Optional[str] = None) -> "Diagnostic":
    """A warning: shown at the declaration like an error, but the host goes on.

    When `validate` reports only warnings, the host uses the config as the
    user wrote it, without the defaults `validate` would have filled.
    """
    from wit_world.imports.types import Diagnostic, Severity

    return Diagnostic(Severity.WARNING, summary, detail, path)


def pointer(*parts: Union[str, int]) -> str:
    """A JSON Pointer (RFC 6901) from its parts: `pointer("env", "A/B")` is `/env/A~1B`."""
    return "".join("/" + escape_pointer(str(p)) for p in parts)


def invalid(diagnostics: Iterable["Diagnostic"]) -> "Err[List[Diagnostic]]":
    """What `validate` raises: `Err([Diagnostic, ...])`. `raise invalid([...])`."""
    from componentize_py_types import Err

    return Err(list(diagnostics))


def plugin_failed(message: str) -> "Err[PluginError]":
    """`Err(PluginError_Failed(message))`: the call could not produce a result.

    For an assertion this is an error, not a failing check: the host reports
    it as "could not run". Raise it: `raise plugin_failed("...")`.
    """
    from wit_world.imports.types import PluginError_Failed

    return _err(PluginError_Failed(message))


def plugin_transient(message: str) -> "Err[PluginError]":
    """`Err(PluginError_Transient(message))`: a condition that may pass on its own
    (a port not open yet), so the host may call again with back-off."""
    from wit_world.imports.types import PluginError_Transient

    return _err(PluginError_Transient(message))


def plugin_denied(message: str) -> "Err[PluginError]":
    """`Err(PluginError_Denied(message))`: a host capability the plugin needed was
    not granted; the host appends the grant that would allow it."""
    from wit_world.imports.types import PluginError_Denied

    return _err(PluginError_Denied(message))


def plugin_invalid_config(diagnostics: Iterable["Diagnostic"]) -> "Err[PluginError]":
    """`Err(PluginError_InvalidConfig([...]))`, for calls other than `validate`
    (which raises a plain list: see `invalid`)."""
    from wit_world.imports.types import PluginError_InvalidConfig

    return _err(PluginError_InvalidConfig(list(diagnostics)))


def from_host_error(err: BaseException) -> BaseException:
    """The plugin error to raise for an `Err(HostError_...)` a host import raised.

    Why this mapping: `denied` stays `denied` (the target is outside the
    plugin's grant; the host names the grant); `timed-out`, `not-found`
    and `failed` (a refused connection) may change by waiting, so they are
    `transient`; `invalid-argument` and `too-large` will not, so they are
    `failed`. Anything that is not a host error is re-raised as is.

        try:
            response = probe.http(request)
        except Err as e:
            raise from_host_error(e)
    """
    from wit_world.imports.types import (
        HostError_Denied,
        HostError_Failed,
        HostError_InvalidArgument,
        HostError_NotFound,
        HostError_TimedOut,
        HostError_TooLarge,
    )

    value = getattr(err, "value", None)
    text = str(getattr(value, "value", value))
    if isinstance(value, HostError_Denied):
        return plugin_denied(text)
    if isinstance(value, (HostError_TimedOut, HostError_NotFound, HostError_Failed)):
        return plugin_transient(text)
    if isinstance(value, (HostError_InvalidArgument, HostError_TooLarge)):
        return plugin_failed(text)
    return err


def _err(error: "PluginError") -> "Err[PluginError]":
    from componentize_py_types import Err

    return Err(error)


def nearest(wanted: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate closest to `wanted` if it is a likely typo, else `None`.

    The host's rule, so both suggest the same name: case-insensitive, at
    most a third of the length (and at least one edit) apart, ties broken
    alphabetically.
    """
    lower = wanted.lower()
    limit = max(len(wanted) // 3, 1)
    scored = sorted((edit_distance(lower, c.lower()), c) for c in candidates)
    return next((c for d, c in scored if d <= limit), None)


def edit_distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string
    alignment), since that is the commonest typo."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]
