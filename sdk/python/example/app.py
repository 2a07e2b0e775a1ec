"""A Clockwork assertion plugin written in Python: `HttpBodyContainsAssert`.

It checks that an HTTP endpoint answers with a body containing a given text.
The request goes through the host's `probe` import, so the host's network
grant applies: loopback and the project's containers, nothing else.

It uses the helper package in `sdk/python/clockwork_sdk`: the type is
declared once, `describe` and `validate` come from the declaration, and
only the plugin's own rule (an http:// or https:// URL) and `check` are
written here. Build it (from the repository root):

    componentize-py -d wit -w assertion componentize app \
        -p sdk/python/example -p sdk/python -o body-contains.wasm

then copy `body-contains.wasm` into a project's `plugins/` folder.
"""

from typing import Iterable

from clockwork_sdk import Field, Meta, TypeDef, error, from_host_error, plugin_failed, pointer, warning
from clockwork_sdk.assertion import AssertionDef, AssertionPlugin, failed, passed
from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.assertions import CheckInput, Outcome
from wit_world.imports import log, probe
from wit_world.imports.types import Diagnostic

BODY_CONTAINS = TypeDef(
    "HttpBodyContainsAssert",
    "Passes when a GET of `url` answers with a body containing `text`.",
    [
        Field(
            "url",
            "string",
            "The URL to fetch, e.g. `http://localhost:8080/`.",
            required=True,
            examples=["http://localhost:8080/health"],
        ),
        Field("text", "string", "Text the response body must contain.", required=True, examples=["ok"]),
        Field(
            "bearer_token",
            "string",
            "A token sent as `Authorization: Bearer <token>`, for endpoints that need one.",
            secret=True,
        ),
    ],
)


class Assertions(AssertionPlugin, exports.Assertions):
    meta = Meta("body-contains", "0.1.0", "checks that an HTTP response body contains a text (a Python example)")
    # Adds `description` and `timeout_seconds` (default 10) to the type.
    types = [AssertionDef(BODY_CONTAINS, timeout_seconds=10)]

    def check_config(self, type_name: str, config: dict) -> Iterable[Diagnostic]:
        url = config.get("url", "")
        if url and not url.startswith(("http://", "https://")):
            yield error(f"`{url}` is not an http:// or https:// URL", pointer("url"))
        if config.get("text") == "":
            yield warning("an empty `text` is in every body, so this check always passes", pointer("text"))

    def check(self, input: CheckInput) -> Outcome:
        config = self.config(input)
        url, text = config["url"], config["text"]
        headers = []
        if "bearer_token" in config:
            headers.append(("authorization", f"Bearer {config['bearer_token']}"))
        request = probe.HttpRequest(
            method="GET",
            url=url,
            headers=headers,
            body=None,
            timeout_ms=min(input.remaining_ms, 5_000),
            max_body_bytes=1 << 20,
            follow_redirects=True,
        )
        try:
            response = probe.http(request)
        except Err as e:
            # Outside the grant, or no answer: the check could not run,
            # which is an error (denied, or transient so the host retries),
            # not a failure.
            raise from_host_error(e)
        body = response.body.decode("utf-8", errors="replace")
        log.log(log.Level.DEBUG, f"GET {url} -> {response.status}", [("bytes", str(len(response.body)))])
        timings = {"total": response.elapsed_us, "ttfb": response.ttfb_us}
        details = {"status": response.status, "bytes": len(response.body), "truncated": response.truncated}
        if text in body:
            return passed(f"body of {url} contains {text!r}", details=details, timings=timings)
        if response.status >= 500:
            raise plugin_failed(f"{url} answered {response.status}")
        return failed(
            f"body of {url} does not contain {text!r}",
            expected=f"a body containing {text!r}",
            actual=body[:200],
            details=details,
            timings=timings,
        )
