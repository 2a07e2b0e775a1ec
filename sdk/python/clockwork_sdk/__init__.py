"""Helpers for Clockwork plugins written in Python and built with componentize-py.

Why: the generated bindings are the contract and nothing more. A plugin
built on them alone writes `FieldSchema` records with JSON-text defaults,
parses config JSON, checks types and required fields, and builds
`Diagnostic` lists by hand. This package does that from declarations:

- `Field`, `TypeDef`, `Meta` (and `fields` for the shared ones) describe
  the plugin; they check themselves when created, so a schema mistake
  fails the componentize-py build; `.to_wit()` gives the WIT records.
- `TypeDef.validate` checks a config against the fields (unknown field
  with a "did you mean", wrong type, missing required field) and raises
  `Err([Diagnostic, ...])` with every problem and its JSON Pointer.
- `error`, `warning`, `pointer`, `invalid` build diagnostics;
  `plugin_failed`, `plugin_transient`, `plugin_denied` and
  `from_host_error` build the errors a call raises when it cannot run.
- `clockwork_sdk.assertion` implements `describe`/`validate` of an
  assertion plugin and builds outcomes (`passed`, `failed`, `skipped`).

It is pure Python and imports the generated bindings only inside the
functions that build a record. Why: those modules exist only when
componentize-py builds the component (or after `componentize-py -d wit -w
<world> bindings DIR`, with DIR on PYTHONPATH, for unit tests), and each
world generates a different export module (`wit_world.exports.assertions`,
`...connections`, `...resources`); importing them up front would tie the
package to one world. It uses componentize-py's default names, `wit_world`
and `componentize_py_types`, so build without `--world-module` and
`--full-names`. Add it to the build with a second `-p`:

    componentize-py -d wit -w assertion componentize app \\
        -p my_plugin -p sdk/python -o my-plugin.wasm
"""

from .diagnostics import (
    edit_distance,
    error,
    from_host_error,
    invalid,
    nearest,
    plugin_denied,
    plugin_failed,
    plugin_invalid_config,
    plugin_transient,
    pointer,
    warning,
)
from .schema import Field, Meta, SchemaError, TypeDef, json_text, lookup
from .value_type import Mismatch, ValueType, describe_value

__all__ = [
    "Field",
    "Meta",
    "Mismatch",
    "SchemaError",
    "TypeDef",
    "ValueType",
    "describe_value",
    "edit_distance",
    "error",
    "from_host_error",
    "invalid",
    "json_text",
    "lookup",
    "nearest",
    "plugin_denied",
    "plugin_failed",
    "plugin_invalid_config",
    "plugin_transient",
    "pointer",
    "warning",
]
