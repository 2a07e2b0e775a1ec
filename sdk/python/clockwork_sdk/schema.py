"""Declare a plugin's types and fields once; get `describe` and `validate` from them.

Why declarations instead of raw `FieldSchema` records: the record wants
every one of its ten fields, defaults and examples as JSON *text*, and
nothing checks it until the host loads the plugin. A `Field` takes Python
values, leaves the usual flags off, and checks itself when it is created:
since componentize-py runs the module's top level while building, a bad
schema (an unknown value type, a default of the wrong type, a required
field with a default) fails the build with the reason instead of
producing a component the host refuses. The same declarations then check
configs in `TypeDef.validate`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Union

from .diagnostics import error, invalid, nearest, pointer
from .value_type import ValueType, describe_value

if TYPE_CHECKING:
    from wit_world.imports.types import Diagnostic, FieldSchema, PluginMeta, TypeSchema

#: The kinds of connection contributions a field may receive (`contribution-kind`),
#: with the value type such a field must have.
RECEIVES = {
    "environment": "map<string>",
    "networks": "list<string>",
    "aliases": "list<string>",
    "mounts": "list<mount>",
}

Checks = Callable[[Dict[str, Any]], Iterable["Diagnostic"]]
"""A plugin's own checks of a config: given the config's well-typed fields
(with defaults when they are filled), yields a `Diagnostic` per problem."""


class SchemaError(ValueError):
    """A declaration breaks the contract's rules; `problems` lists every one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def json_text(value: Any) -> str:
    """`value` as compact JSON text, the form WIT `json` strings take."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class Field:
    """One field (keyword argument) of a declaration type, `field-schema` in the WIT.

    `default` and `examples` are Python values (`10`, `["a"]`), turned into
    JSON text for the host; `default=None` means no default. A field is
    optional, not completable, not secret and updated in place unless you
    say otherwise. `receives` is a contribution kind (`"environment"`,
    `"networks"`, `"aliases"` or `"mounts"`) for resource fields that
    connections add to.

        Field("url", "string", "The URL to fetch.", required=True)
        Field("retries", "int", "How often to retry.", default=3)
    """

    name: str
    value_type: str
    doc: str
    _: dataclasses.KW_ONLY
    required: bool = False
    default: Any = None
    examples: Sequence[Any] = ()
    completable: bool = False
    forces_replace: bool = False
    secret: bool = False
    receives: Optional[str] = None
    parsed: ValueType = dataclasses.field(init=False, repr=False, compare=False)
    """The parsed `value_type`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(self.examples))
        problems: List[str] = []
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            problems.append(f"field name `{self.name}` is not snake_case (e.g. `env_vars`)")
        try:
            parsed = ValueType.parse(self.value_type)
        except ValueError as e:
            raise SchemaError([f"field `{self.name}`: {p}" for p in problems + [str(e)]]) from None
        object.__setattr__(self, "parsed", parsed)
        values = [("default", self.default)] if self.default is not None else []
        values += [(f"example {i}", e) for i, e in enumerate(self.examples, 1)]
        for what, value in values:
            try:
                value = json.loads(json_text(value))
            except (TypeError, ValueError) as e:
                problems.append(f"{what} is not a JSON value ({e})")
                continue
            mismatch = parsed.check(value)
            if mismatch:
                problems.append(f"{what} does not match `{parsed}`: expected {mismatch.expected}, got {mismatch.got}")
        if self.required and self.default is not None:
            problems.append("a required field cannot have a default")
        if self.required and self.completable:
            problems.append("a required field cannot be completable: the user always gives it")
        if self.default is not None and parsed.is_reference() and self.default not in ([], {}):
            problems.append("a reference field can only default to an empty list or dict")
        if self.receives is not None:
            wanted = RECEIVES.get(self.receives)
            if wanted is None:
                problems.append(f"receives `{self.receives}`, which is not one of {', '.join(RECEIVES)}")
            elif str(parsed) != wanted:
                problems.append(f"receives {self.receives}, so its type must be `{wanted}`, not `{parsed}`")
        if problems:
            raise SchemaError([f"field `{self.name}`: {p}" for p in problems])

    def to_wit(self) -> "FieldSchema":
        """The `field-schema` record for `describe`."""
        from wit_world.imports.types import ContributionKind, FieldSchema

        return FieldSchema(
            name=self.name,
            value_type=self.value_type,
            doc=self.doc,
            required=self.required,
            default=None if self.default is None else json_text(self.default),
            completable=self.completable,
            forces_replace=self.forces_replace,
            secret=self.secret,
            examples=[json_text(e) for e in self.examples],
            receives=None if self.receives is None else ContributionKind[self.receives.upper()],
        )


@dataclass(frozen=True)
class TypeDef:
    """A declaration type: its constructor name (PascalCase), docs and fields.

    `doc` is Markdown; its first sentence is the summary shown in tables.
    """

    name: str
    doc: str
    fields: Sequence[Field] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        problems = []
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", self.name):
            problems.append(f"type name `{self.name}` is not PascalCase (e.g. `DockerResource`)")
        seen: Set[str] = set()
        kinds: Dict[str, str] = {}
        for f in self.fields:
            if f.name in seen:
                problems.append(f"field `{f.name}` is declared twice")
            seen.add(f.name)
            if f.receives is not None and kinds.setdefault(f.receives, f.name) != f.name:
                problems.append(
                    f"field `{f.name}`: receives {f.receives}, which `{kinds[f.receives]}` already receives: one field per kind"
                )
        if problems:
            raise SchemaError([f"{self.name}: {p}" for p in problems])

    def field(self, name: str) -> Optional[Field]:
        """The field called `name`, if declared."""
        return next((f for f in self.fields if f.name == name), None)

    def with_fields(self, *fields: Field) -> "TypeDef":
        """A copy with `fields` added after the declared ones."""
        return TypeDef(self.name, self.doc, tuple(self.fields) + fields)

    def to_wit(self) -> "TypeSchema":
        """The `type-schema` record for `describe`."""
        from wit_world.imports.types import TypeSchema

        return TypeSchema(name=self.name, doc=self.doc, fields=[f.to_wit() for f in self.fields])

    def with_defaults(self, config: Mapping[str, Any]) -> Dict[str, Any]:
        """A copy of `config` with every declared default the user left out."""
        out = dict(config)
        for f in self.fields:
            if f.default is not None and f.name not in out:
                out[f.name] = json.loads(json_text(f.default))
        return out

    def problems(self, config: Mapping[str, Any]) -> List["Diagnostic"]:
        """Every way `config` breaks this schema, as error diagnostics.

        First each field that is not declared (with the nearest declared
        name as a "did you mean" in `detail`); then, in declaration order,
        each value of the wrong type (located at the offending element,
        e.g. `/ports/1`; a secret's value is never repeated) and each
        required field left out. Declaration order, not the config's key
        order, because the host may pass keys sorted.
        """
        names = [f.name for f in self.fields]
        out = []
        for key in config:
            if self.field(key) is None:
                hint = nearest(key, names)
                if hint:
                    detail = f"did you mean `{hint}`?"
                else:
                    detail = "its fields are: " + ", ".join(names) if names else f"`{self.name}` has no fields"
                out.append(error(f"`{key}` is not a field of `{self.name}`", pointer(key), detail))
        for f in self.fields:
            if f.name not in config:
                if f.required:
                    out.append(error(f"missing required field `{f.name}`"))
                continue
            mismatch = f.parsed.check(config[f.name])
            if mismatch:
                got = mismatch.got.split(" (")[0] if f.secret else mismatch.got
                expected = f.parsed.describe() if not mismatch.path else mismatch.expected
                where = f.name + _index_path(mismatch.path)
                out.append(error(f"`{where}` expects {expected}, got {got}", pointer(f.name) + mismatch.path))
        return out

    def validate(
        self,
        config: Union[str, Mapping[str, Any]],
        *,
        fill_defaults: bool = False,
        checks: Optional[Checks] = None,
    ) -> Dict[str, Any]:
        """Checks a config (JSON text or a dict) and returns it as a dict.

        Raises `Err([Diagnostic, ...])` (what WIT `validate` raises) with every
        problem: the schema's (see `problems`), then those `checks` yields.
        `checks` sees only the fields whose values have the declared type, so
        it never has to guard against a string where it wants an int, but it
        must use `.get()` for fields that may be missing.

        Why `fill_defaults` is off unless asked: the contract differs by kind.
        An assertion's or a connection's `validate` returns the config "with
        defaults" (pass `fill_defaults=True`); a resource's must not, since
        connections and completion fill what the user left out and the host
        applies the defaults last. Nothing else is added or changed.
        """
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except ValueError as e:
                raise invalid([error(f"config is not valid JSON: {e}")]) from None
        if not isinstance(config, Mapping):
            raise invalid([error(f"config must be a JSON object, got {describe_value(config)}")])
        values = dict(config)
        problems = self.problems(values)
        typed = {k: v for k, v in values.items() if (f := self.field(k)) is not None and f.parsed.check(v) is None}
        if fill_defaults:
            values = self.with_defaults(values)
            typed = self.with_defaults(typed)
        if checks is not None:
            problems.extend(checks(typed))
        if problems:
            raise invalid(problems)
        return values


def lookup(types: Iterable[TypeDef], type_name: str) -> TypeDef:
    """The type called `type_name`; raises `Err([Diagnostic])` (with a "did you
    mean") when the plugin has none, as `validate` must."""
    types = list(types)
    found = next((t for t in types if t.name == type_name), None)
    if found is None:
        hint = nearest(type_name, [t.name for t in types])
        raise invalid(
            [error(f"this plugin has no type `{type_name}`", None, f"did you mean `{hint}`?" if hint else None)]
        )
    return found


@dataclass(frozen=True)
class Meta:
    """Who the plugin is (`plugin-meta`): a kebab-case name, a SemVer version,
    one line saying what it provides, and where to learn more."""

    name: str
    version: str
    summary: str
    homepage: Optional[str] = None

    def __post_init__(self) -> None:
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.name) or self.name.endswith("-"):
            problems.append(f"plugin name `{self.name}` is not kebab-case (e.g. `docker-resource`)")
        if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+([-+].*)?", self.version):
            problems.append(f"version `{self.version}` is not SemVer (e.g. `0.1.0`)")
        if problems:
            raise SchemaError(problems)

    def to_wit(self) -> "PluginMeta":
        """The `plugin-meta` record for `describe`."""
        from wit_world.imports.types import PluginMeta

        return PluginMeta(self.name, self.version, self.summary, self.homepage)


def _index_path(path: str) -> str:
    """`/a/1` as `["a"][1]`, the way the host shows a place inside a field."""
    out = ""
    for part in path.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        out += f"[{part}]" if part.isdigit() else f'["{part}"]'
    return out
