"""The value-type grammar of `field-schema.value-type` (see `wit/types.wit`).

Why a Python copy: a plugin's `validate` should say "expects an integer"
in the same words, and accept the same values, as the host's own argument
checks (`clockwork-schema`'s `ValueType` in Rust), and a schema mistake
(`lsit<string>`, a default of the wrong type) should stop the build, not
surface when the host loads the plugin. This module mirrors that grammar:

- scalars `string`, `int`, `float`, `bool`, `any`
- `list<T>`, `map<T>` (string keys), `enum<a|b|c>`
- `mount` (`"source:/target[:ro]"` or `{"source", "target", "read_only"}`)
- `port` (`"8080:80"`, `"127.0.0.1:53:53/udp"`, `"80"`): a port published on
  the host's machine, which the host publishes only when the user wrote it
- references `resource`, `resource<A|B>`, `connection`, `assertion`,
  which the host passes as objects with a `$ref` key
- `function`: a Starlark function, which the host passes as a program (an
  object with a `$function` key; see `plugins/starlark-assertions`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

SCALARS = ("string", "int", "float", "bool", "any")
REFERENCES = ("resource", "connection", "assertion")


@dataclass(frozen=True)
class ValueType:
    """A parsed value type. Build one with `ValueType.parse("list<string>")`."""

    kind: str
    """`string`, `int`, `float`, `bool`, `any`, `list`, `map`, `enum`, `mount`,
    `port`, `resource`, `connection`, `assertion` or `function`."""
    inner: Optional["ValueType"] = None
    """The element type of a `list` or `map`."""
    names: Tuple[str, ...] = ()
    """The options of an `enum`, or the type names a `resource` is restricted to."""

    @staticmethod
    def parse(text: str) -> "ValueType":
        """Parses `text`; raises `ValueError` naming what is wrong."""
        parser = _Parser(text)
        parsed = parser.parse_type()
        rest = parser.rest.strip()
        if rest:
            raise parser.error(f"unexpected `{rest}` after the type")
        return parsed

    def __str__(self) -> str:
        if self.kind in ("list", "map"):
            return f"{self.kind}<{self.inner}>"
        if self.kind == "enum" or (self.kind == "resource" and self.names):
            return f"{self.kind}<{'|'.join(self.names)}>"
        return self.kind

    def is_reference(self) -> bool:
        """Whether values refer to other declarations (and so cannot have a default
        other than an empty list or dict)."""
        if self.inner is not None:
            return self.inner.is_reference()
        return self.kind in REFERENCES

    def describe(self) -> str:
        """The type for humans, e.g. "a list of strings"."""
        k = self.kind
        simple = {
            "string": "a string",
            "int": "an integer",
            "float": "a number",
            "bool": "a boolean",
            "any": "any value",
            "connection": "a connection or a resource",
            "assertion": "an assertion",
            "mount": 'a mount ("source:/target" or "source:/target:ro")',
            "port": 'a port ("host:container" or "container", e.g. "8080:80")',
            "function": "a function (a `def` or a `lambda`)",
        }
        if k in simple:
            return simple[k]
        if k == "list" and self.inner is not None:
            return f"a list of {_plural(self.inner)}"
        if k == "map" and self.inner is not None:
            return f"a dict of string to {_plural(self.inner)}"
        if k == "enum":
            return "one of " + ", ".join(f'"{o}"' for o in self.names)
        if self.names:
            return "a " + " or ".join(self.names)
        return "a resource"

    def check(self, value: Any) -> Optional["Mismatch"]:
        """Why the JSON value `value` does not have this type, or `None` when it does.

        The mismatch is located: `Mismatch.path` is a JSON Pointer below
        `value` (`"/a/1"`), `""` for `value` itself.
        """
        return self._check_at(value, "")

    def _check_at(self, value: Any, path: str) -> Optional["Mismatch"]:
        k = self.kind
        if k == "any":
            ok = True
        elif k == "string":
            ok = isinstance(value, str)
        elif k == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif k == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif k == "bool":
            ok = isinstance(value, bool)
        elif k == "enum":
            ok = isinstance(value, str) and value in self.names
        elif k in REFERENCES:
            ok = isinstance(value, dict) and "$ref" in value
        elif k == "mount":
            ok = _is_mount(value)
        elif k == "port":
            # Its form is `validate`'s to report (with `parse_port`), with
            # the project's other problems, as the host does.
            ok = isinstance(value, str)
        elif k == "function":
            ok = isinstance(value, dict) and "$function" in value
        elif k == "list" and isinstance(value, list):
            assert self.inner is not None
            for index, item in enumerate(value):
                problem = self.inner._check_at(item, f"{path}/{index}")
                if problem:
                    return problem
            ok = True
        elif k == "map" and isinstance(value, dict):
            assert self.inner is not None
            for key, item in value.items():
                problem = self.inner._check_at(item, f"{path}/{escape_pointer(str(key))}")
                if problem:
                    return problem
            ok = True
        else:
            ok = False
        return None if ok else Mismatch(path, self.describe(), describe_value(value))


@dataclass(frozen=True)
class Mismatch:
    """Why a value does not match a type, as the host words it."""

    path: str
    """JSON Pointer below the checked value, `""` for the value itself."""
    expected: str
    """What was expected, e.g. "a list of strings"."""
    got: str
    """What was found, e.g. `an integer (5)`."""


def describe_value(value: Any, *, hide: bool = False) -> str:
    """A JSON value for a message, e.g. `an integer (5)`; `hide` leaves the value
    out (for secrets), e.g. `an integer`."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        what = "a boolean"
    elif isinstance(value, int):
        what = "an integer"
    elif isinstance(value, float):
        what = "a number"
    elif isinstance(value, str):
        what = "a string"
    elif isinstance(value, list):
        what = "a list"
    elif isinstance(value, dict):
        what = "a dict"
    else:
        what = type(value).__name__
    if hide:
        return what
    shown = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{what} ({shown})"


def escape_pointer(part: str) -> str:
    """One JSON Pointer reference token (RFC 6901): `~` and `/` escaped."""
    return part.replace("~", "~0").replace("/", "~1")


def parse_mount(text: str) -> Optional[Dict[str, Any]]:
    """`"source:/target[:ro|:rw]"` as `{"source", "target", "read_only"}`, or `None`."""
    parts = text.split(":")
    if len(parts) == 2:
        source, target, read_only = parts[0], parts[1], False
    elif len(parts) == 3 and parts[2] in ("ro", "rw"):
        source, target, read_only = parts[0], parts[1], parts[2] == "ro"
    else:
        return None
    if not source or not target.startswith("/"):
        return None
    return {"source": source, "target": target, "read_only": read_only}


def parse_port(text: str) -> Optional[Dict[str, Any]]:
    """A port mapping as Docker writes it (`"[ip:][host:]container[/tcp|/udp]"`,
    an IPv6 address in brackets) as `{"host_ip", "host_port", "container_port",
    "protocol"}`, or `None`; the same grammar as the host's `parse_port`."""
    body, protocol = text, "tcp"
    if "/" in text:
        body, protocol = text.rsplit("/", 1)
        if protocol not in ("tcp", "udp"):
            return None

    def number(p: str) -> Optional[int]:
        if not p.isascii() or not p.isdigit():
            return None
        n = int(p)
        return n if 1 <= n <= 65535 else None

    host_ip: Optional[str] = None
    rest = body
    if body.startswith("["):
        closing = body.find("]:")
        if closing < 0:
            return None
        host_ip, rest = body[1:closing], body[closing + 2 :]
    else:
        parts = body.split(":")
        if len(parts) == 3:
            host_ip, rest = parts[0], body[len(parts[0]) + 1 :]
    if host_ip is not None:
        import ipaddress

        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            return None
    parts = rest.split(":")
    if len(parts) == 1 and host_ip is None:
        host, container = "", parts[0]
    elif len(parts) == 2:
        host, container = parts
    else:
        return None
    container_port = number(container)
    host_port = number(host) if host else None
    if container_port is None or (host and host_port is None):
        return None
    return {
        "host_ip": host_ip,
        "host_port": host_port,
        "container_port": container_port,
        "protocol": protocol,
    }


def _is_mount(value: Any) -> bool:
    if isinstance(value, str):
        return parse_mount(value) is not None
    if not isinstance(value, dict):
        return False
    source, target = value.get("source"), value.get("target")
    return (
        set(value) <= {"source", "target", "read_only"}
        and isinstance(source, str)
        and bool(source)
        and isinstance(target, str)
        and target.startswith("/")
        and isinstance(value.get("read_only", False), bool)
    )


def _plural(ty: ValueType) -> str:
    plurals = {
        "string": "strings",
        "int": "integers",
        "float": "numbers",
        "bool": "booleans",
        "any": "values",
        "connection": "connections or resources",
        "assertion": "assertions",
        "mount": 'mounts ("source:/target" or "source:/target:ro")',
        "port": 'ports ("host:container" or "container", e.g. "8080:80")',
        "function": "functions",
    }
    if ty.kind in plurals:
        return plurals[ty.kind]
    if ty.kind == "resource" and not ty.names:
        return "resources"
    return ty.describe()


def _word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_-.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.rest = text

    def error(self, reason: str) -> ValueError:
        return ValueError(f"invalid value type `{self.text}`: {reason}")

    def word(self) -> str:
        self.rest = self.rest.lstrip()
        end = 0
        while end < len(self.rest) and _word_char(self.rest[end]):
            end += 1
        word, self.rest = self.rest[:end], self.rest[end:]
        return word

    def eat(self, c: str) -> bool:
        self.rest = self.rest.lstrip()
        if self.rest.startswith(c):
            self.rest = self.rest[1:]
            return True
        return False

    def expect(self, c: str) -> None:
        if self.eat(c):
            return
        if not self.rest:
            raise self.error(f"expected `{c}` but the type ended")
        raise self.error(f"expected `{c}` at `{self.rest}`")

    def names(self, what: str) -> Tuple[str, ...]:
        names: List[str] = []
        while True:
            name = self.word()
            if not name:
                raise self.error(f"expected {what}")
            if name in names:
                raise self.error(f"`{name}` is listed twice")
            names.append(name)
            if not self.eat("|"):
                break
        self.expect(">")
        return tuple(names)

    def parse_type(self) -> ValueType:
        word = self.word()
        if word in SCALARS or word in ("mount", "port", "connection", "assertion", "function"):
            return ValueType(word)
        if word in ("list", "map"):
            self.expect("<")
            inner = self.parse_type()
            self.expect(">")
            return ValueType(word, inner=inner)
        if word == "enum":
            self.expect("<")
            return ValueType("enum", names=self.names("an option"))
        if word == "resource":
            return ValueType("resource", names=self.names("a type name") if self.eat("<") else ())
        if not word:
            raise self.error("expected a type")
        raise self.error(
            f"unknown type `{word}`; expected string, int, float, bool, any, mount, port, list<T>, "
            "map<T>, enum<a|b>, resource, connection, assertion or function"
        )
