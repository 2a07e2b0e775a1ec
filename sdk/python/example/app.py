"""A Clockwork assertion plugin written in Python: `HttpBodyContainsAssert`.

It checks that an HTTP endpoint answers with a body containing a given text.
The request goes through the host's `probe` import, so the host's network
grant applies: loopback and the project's containers, nothing else.

Build it (from the repository root):

    componentize-py -d wit -w assertion componentize app \
        -p sdk/python/example -o body-contains.wasm

then copy `body-contains.wasm` into a project's `plugins/` folder.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.assertions import (
    AssertionDescription,
    AssertionType,
    CheckInput,
    Outcome,
    Verdict,
)
from wit_world.imports import log, probe
from wit_world.imports.types import (
    Diagnostic,
    FieldSchema,
    HostError_Denied,
    PluginError_Denied,
    PluginError_Failed,
    PluginError_Transient,
    PluginMeta,
    Severity,
    TypeSchema,
)

TYPE_NAME = "HttpBodyContainsAssert"


def field(name, value_type, doc, required=False, default=None, examples=()):
    """A field schema; defaults and examples are given as Python values."""
    return FieldSchema(
        name=name,
        value_type=value_type,
        doc=doc,
        required=required,
        default=None if default is None else json.dumps(default),
        completable=False,
        forces_replace=False,
        secret=False,
        examples=[json.dumps(e) for e in examples],
        receives=None,
    )


FIELDS = [
    field("url", "string", "The URL to fetch, e.g. `http://localhost:8080/`.", required=True,
          examples=["http://localhost:8080/health"]),
    field("text", "string", "Text the response body must contain.", required=True, examples=["ok"]),
    field("description", "string", "What this check is for, in plain words."),
    field("timeout_seconds", "int", "How long `clockwork assert` keeps retrying, in seconds.", default=10),
]


def error(summary, path=None):
    return Diagnostic(severity=Severity.ERROR, summary=summary, detail=None, path=path)


class Assertions(exports.Assertions):
    def describe(self) -> AssertionDescription:
        return AssertionDescription(
            plugin=PluginMeta(
                name="body-contains",
                version="0.1.0",
                summary="checks that an HTTP response body contains a text (a Python example)",
                homepage=None,
            ),
            types=[
                AssertionType(
                    schema=TypeSchema(
                        name=TYPE_NAME,
                        doc="Passes when a GET of `url` answers with a body containing `text`.",
                        fields=FIELDS,
                    ),
                    default_timeout_ms=10_000,
                    retryable=True,
                )
            ],
        )

    def validate(self, type_name: str, config: str) -> str:
        if type_name != TYPE_NAME:
            raise Err([error(f"this plugin has no type `{type_name}`")])
        values = json.loads(config)
        problems = [error(f"missing required field `{f.name}`") for f in FIELDS if f.required and f.name not in values]
        url = values.get("url", "")
        if url and not url.startswith(("http://", "https://")):
            problems.append(error(f"`{url}` is not an http:// or https:// URL", "/url"))
        if problems:
            raise Err(problems)
        for f in FIELDS:
            if f.default is not None:
                values.setdefault(f.name, json.loads(f.default))
        return json.dumps(values)

    def check(self, input: CheckInput) -> Outcome:
        config = json.loads(input.config)
        request = probe.HttpRequest(
            method="GET",
            url=config["url"],
            headers=[],
            body=None,
            timeout_ms=min(input.remaining_ms, 5_000),
            max_body_bytes=1 << 20,
            follow_redirects=True,
        )
        try:
            response = probe.http(request)
        except Err as e:
            # The host said no (outside the grant) or the request failed:
            # the check could not run, which is an error, not a failure.
            if isinstance(e.value, HostError_Denied):
                raise Err(PluginError_Denied(e.value.value))
            raise Err(PluginError_Transient(str(e.value.value)))
        body = response.body.decode("utf-8", errors="replace")
        log.log(log.Level.DEBUG, f"GET {config['url']} -> {response.status}", [("bytes", str(len(response.body)))])
        timings = [("total", response.elapsed_us), ("ttfb", response.ttfb_us)]
        details = json.dumps({"status": response.status, "bytes": len(response.body)})
        if config["text"] in body:
            return Outcome(Verdict.PASS, f"body of {config['url']} contains {config['text']!r}", None, None, details, timings)
        if response.status >= 500:
            raise Err(PluginError_Failed(f"{config['url']} answered {response.status}"))
        return Outcome(
            Verdict.FAIL,
            f"body of {config['url']} does not contain {config['text']!r}",
            f"a body containing {config['text']!r}",
            body[:200],
            details,
            timings,
        )
