"""Unit tests of `clockwork_sdk`, against the bindings componentize-py generates.

Run by `host/tests/python.rs` (so by `cargo test`), which generates the
assertion world's bindings into a folder and runs, from the repository root:

    PYTHONPATH=<bindings>:sdk/python python3 -B -m unittest discover -s sdk/python/tests
"""

import json
import os
import sys
import unittest
from unittest import mock

from componentize_py_types import Err
from wit_world.exports import assertions as wit_assertions
from wit_world.imports import types as wit

from clockwork_sdk import (
    Field,
    Meta,
    SchemaError,
    TypeDef,
    ValueType,
    edit_distance,
    error,
    from_host_error,
    lookup,
    nearest,
    plugin_failed,
    pointer,
    warning,
)
from clockwork_sdk.assertion import AssertionDef, AssertionPlugin, failed, passed, skipped

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "example")


def diagnostics(raised: Err) -> list:
    """The (summary, path, detail) of each diagnostic an `Err` carries."""
    return [(d.summary, d.path, d.detail) for d in raised.value]


SERVICE = TypeDef(
    "ServiceAssert",
    "Checks a service.",
    [
        Field("host", "string", "The host.", required=True),
        Field("port", "int", "The port.", default=80),
        Field("protocol", "enum<tcp|udp>", "The protocol.", default="tcp"),
        Field("headers", "map<list<string>>", "Headers.", default={}),
        Field("password", "string", "A password.", secret=True),
        Field("ratio", "float", "A ratio."),
    ],
)


class ValueTypes(unittest.TestCase):
    def test_every_form_round_trips(self):
        for text in [
            "string",
            "int",
            "float",
            "bool",
            "any",
            "mount",
            "list<string>",
            "map<list<int>>",
            "enum<tcp|udp>",
            "resource",
            "resource<FileResource|DockerResource>",
            "list<connection>",
            "list<assertion>",
            "list<port>",
        ]:
            self.assertEqual(str(ValueType.parse(text)), text)

    def test_malformed_types_are_refused_with_the_reason(self):
        with self.assertRaisesRegex(ValueError, r"invalid value type `socket`: unknown type `socket`"):
            ValueType.parse("socket")
        for text in ["list<string", "list<>", "enum<a|a>", "string extra", ""]:
            with self.assertRaises(ValueError, msg=text):
                ValueType.parse(text)

    def test_a_mismatch_is_located_and_worded_like_the_host(self):
        ty = ValueType.parse("map<list<int>>")
        self.assertIsNone(ty.check({"a": [1, 2]}))
        m = ty.check({"a/b": [1, "x"]})
        self.assertEqual((m.path, m.expected, m.got), ("/a~1b/1", "an integer", 'a string ("x")'))
        self.assertEqual(ValueType.parse("enum<tcp|udp>").check("sctp").expected, 'one of "tcp", "udp"')
        self.assertIsNotNone(ValueType.parse("int").check(1.5))
        self.assertIsNotNone(ValueType.parse("int").check(True), "a bool is not an int")
        self.assertIsNone(ValueType.parse("float").check(1))
        self.assertIsNone(ValueType.parse("resource").check({"$ref": "db"}))
        self.assertIsNotNone(ValueType.parse("resource").check("db"))
        mount = ValueType.parse("mount")
        self.assertIsNone(mount.check("./data:/data:ro"))
        self.assertIsNone(mount.check({"source": "data", "target": "/data", "read_only": True}))
        self.assertIsNotNone(mount.check("data:relative"))
        self.assertIsNotNone(mount.check({"source": "data", "target": "/d", "mode": "ro"}))
        self.assertEqual(ValueType.parse("string").check(None).got, "None")
        port = ValueType.parse("port")
        self.assertIsNone(port.check("80:http"), "a string: its form is validate's to report")
        self.assertIsNotNone(port.check(80))
        from clockwork_sdk.value_type import parse_port

        for good in ["80", "8080:80", "127.0.0.1:5432:5432", "[::1]:53:53/udp", ":80"]:
            self.assertIsNotNone(parse_port(good), good)
        self.assertEqual(
            parse_port("127.0.0.1:5432:5432/udp"),
            {"host_ip": "127.0.0.1", "host_port": 5432, "container_port": 5432, "protocol": "udp"},
        )
        for bad in ["0", "70000:80", "a:80", "1:2:3:4", "80/sctp", "999.1.1.1:80:80"]:
            self.assertIsNone(parse_port(bad), bad)


class Fields(unittest.TestCase):
    def test_to_wit_gives_json_text_and_the_flags(self):
        record = Field(
            "env_vars",
            "map<string>",
            "Variables.",
            default={"A": "1"},
            examples=[{"B": "2"}],
            completable=True,
            forces_replace=True,
            secret=True,
            receives="environment",
        ).to_wit()
        self.assertIsInstance(record, wit.FieldSchema)
        self.assertEqual(json.loads(record.default), {"A": "1"})
        self.assertEqual([json.loads(e) for e in record.examples], [{"B": "2"}])
        self.assertEqual(record.receives, wit.ContributionKind.ENVIRONMENT)
        self.assertTrue(record.completable and record.forces_replace and record.secret)
        self.assertFalse(record.required)
        plain = Field("url", "string", "The URL.", required=True).to_wit()
        self.assertEqual((plain.default, plain.examples, plain.receives), (None, [], None))
        self.assertFalse(plain.secret or plain.completable or plain.forces_replace)

    def test_a_schema_mistake_raises_with_every_problem(self):
        cases = {
            "field `envVars`: field name `envVars` is not snake_case (e.g. `env_vars`)": lambda: Field(
                "envVars", "string", "x"
            ),
            "field `mode`: invalid value type `octal`": lambda: Field("mode", "octal", "x"),
            "field `ports`: default does not match `list<string>`: expected a string, got an integer (1)": lambda: Field(
                "ports", "list<string>", "x", default=[1]
            ),
            "field `ports`: example 2 does not match": lambda: Field(
                "ports", "list<string>", "x", examples=[["a"], "b"]
            ),
            "field `image`: a required field cannot have a default": lambda: Field(
                "image", "string", "x", required=True, default="a"
            ),
            "field `image`: a required field cannot be completable": lambda: Field(
                "image", "string", "x", required=True, completable=True
            ),
            "field `db`: a reference field can only default to an empty list or dict": lambda: Field(
                "db", "list<resource>", "x", default=[{"$ref": "a"}]
            ),
            "field `nets`: receives networks, so its type must be `list<string>`, not `map<string>`": lambda: Field(
                "nets", "map<string>", "x", receives="networks"
            ),
            "field `when`: default is not a JSON value": lambda: Field("when", "any", "x", default={1, 2}),
            "field `ratio`: default is not a JSON value": lambda: Field("ratio", "float", "x", default=float("nan")),
            "Bad_Name: type name `Bad_Name` is not PascalCase": lambda: TypeDef("Bad_Name", "x"),
            "T: field `a` is declared twice": lambda: TypeDef(
                "T", "x", [Field("a", "string", "x"), Field("a", "int", "x")]
            ),
            "plugin name `Body` is not kebab-case": lambda: Meta("Body", "0.1.0", "x"),
            "version `1.0` is not SemVer": lambda: Meta("body", "1.0", "x"),
        }
        for message, build in cases.items():
            with self.assertRaises(SchemaError, msg=message) as raised:
                build()
            self.assertIn(message, str(raised.exception))
        with self.assertRaises(SchemaError) as raised:
            Field("image", "int", "x", required=True, default="a")
        self.assertEqual(len(raised.exception.problems), 2, raised.exception.problems)


class Validate(unittest.TestCase):
    def test_a_good_config_comes_back_as_written_unless_defaults_are_asked_for(self):
        config = {"host": "db", "port": 5432}
        self.assertEqual(SERVICE.validate(json.dumps(config)), config)
        self.assertEqual(
            SERVICE.validate(config, fill_defaults=True),
            {"host": "db", "port": 5432, "protocol": "tcp", "headers": {}},
        )

    def test_every_problem_is_reported_with_its_path(self):
        with self.assertRaises(Err) as raised:
            SERVICE.validate(
                # Keys out of declaration order: problems still follow it.
                {"password": 12345, "hots": "db", "headers": {"X": ["a", 1]}, "port": "80", "kubernetes": True}
            )
        self.assertEqual(
            diagnostics(raised.exception),
            [
                ("`hots` is not a field of `ServiceAssert`", "/hots", "did you mean `host`?"),
                (
                    "`kubernetes` is not a field of `ServiceAssert`",
                    "/kubernetes",
                    "its fields are: host, port, protocol, headers, password, ratio",
                ),
                ("missing required field `host`", None, None),
                ('`port` expects an integer, got a string ("80")', "/port", None),
                ('`headers["X"][1]` expects a string, got an integer (1)', "/headers/X/1", None),
                ("`password` expects a string, got an integer", "/password", None),
            ],
        )
        self.assertTrue(all(d.severity == wit.Severity.ERROR for d in raised.exception.value))
        self.assertNotIn("12345", repr(raised.exception.value), "a secret's value is never repeated")

    def test_checks_see_only_well_typed_fields_and_their_problems_come_last(self):
        seen = []

        def checks(config):
            seen.append(config)
            if config.get("port", 0) > 65535:
                yield error(f"port `{config['port']}` is out of range 1-65535", pointer("port"))

        with self.assertRaises(Err) as raised:
            SERVICE.validate({"host": 5, "port": 70000}, fill_defaults=True, checks=checks)
        self.assertEqual(seen, [{"port": 70000, "protocol": "tcp", "headers": {}}])
        self.assertEqual(
            [s for s, _, _ in diagnostics(raised.exception)],
            ["`host` expects a string, got an integer (5)", "port `70000` is out of range 1-65535"],
        )

    def test_only_warnings_are_still_raised(self):
        with self.assertRaises(Err) as raised:
            SERVICE.validate({"host": "db"}, checks=lambda c: [warning("`host` is a bare name", pointer("host"))])
        self.assertEqual([d.severity for d in raised.exception.value], [wit.Severity.WARNING])

    def test_a_config_that_is_not_an_object_is_one_error(self):
        for text, summary in [
            ("[1]", "config must be a JSON object, got a list ([1])"),
            ("{", "config is not valid JSON"),
        ]:
            with self.assertRaises(Err) as raised:
                SERVICE.validate(text)
            self.assertEqual(len(raised.exception.value), 1)
            self.assertTrue(raised.exception.value[0].summary.startswith(summary), raised.exception.value)

    def test_an_unknown_type_name_gets_a_suggestion(self):
        self.assertIs(lookup([SERVICE], "ServiceAssert"), SERVICE)
        with self.assertRaises(Err) as raised:
            lookup([SERVICE], "ServiseAssert")
        self.assertEqual(
            diagnostics(raised.exception),
            [("this plugin has no type `ServiseAssert`", None, "did you mean `ServiceAssert`?")],
        )

    def test_suggestions_follow_the_hosts_rule(self):
        names = ["docker-resource", "file-resource", "http-assert"]
        self.assertEqual(nearest("docker-resorce", names), "docker-resource")
        self.assertEqual(nearest("Docker-Resource", names), "docker-resource")
        self.assertIsNone(nearest("kubernetes", names))
        self.assertEqual(edit_distance("kitten", "sitting"), 3)
        self.assertEqual(edit_distance("prot", "port"), 1)
        self.assertEqual(nearest("prot", ["port", "description"]), "port")

    def test_pointers_are_escaped(self):
        self.assertEqual(pointer("env", "A/B~C", 0), "/env/A~1B~0C/0")
        self.assertEqual(pointer(), "")


class Checks(AssertionPlugin):
    meta = Meta("checks", "1.2.3", "test checks")
    types = [
        AssertionDef(TypeDef("PingAssert", "Pings.", [Field("host", "string", "The host.", required=True)])),
        AssertionDef(
            TypeDef("FileAssert", "Files.", [Field("timeout_seconds", "int", "Wait.", default=5)]),
            retryable=False,
        ),
    ]

    def check_config(self, type_name, config):
        if config.get("host") == "localhost":
            yield warning("`localhost` may be IPv6; `127.0.0.1` is certain", pointer("host"))


def check_input(type_name: str, config: dict) -> wit_assertions.CheckInput:
    return wit_assertions.CheckInput(type_name, json.dumps(config), None, None, 1, 5000)


class Assertions(unittest.TestCase):
    def test_describe_adds_the_standard_fields_and_the_timeout(self):
        d = Checks().describe()
        self.assertIsInstance(d, wit_assertions.AssertionDescription)
        self.assertEqual((d.plugin.name, d.plugin.version, d.plugin.homepage), ("checks", "1.2.3", None))
        ping, file = d.types
        self.assertEqual([f.name for f in ping.schema.fields], ["host", "name", "description", "timeout_seconds"])
        self.assertEqual((ping.default_timeout_ms, ping.retryable, ping.schema.fields[3].default), (30000, True, "30"))
        self.assertEqual([f.name for f in file.schema.fields], ["timeout_seconds", "name", "description"])
        self.assertEqual((file.default_timeout_ms, file.retryable), (5000, False))
        with self.assertRaisesRegex(SchemaError, "disagrees"):
            AssertionDef(TypeDef("FileAssert", "Files.", [Field("timeout_seconds", "int", "Wait.", default=5)]), 6)

    def test_validate_fills_defaults_and_raises_every_problem(self):
        self.assertEqual(
            json.loads(Checks().validate("PingAssert", '{"host": "db"}')), {"host": "db", "timeout_seconds": 30}
        )
        with self.assertRaises(Err) as raised:
            Checks().validate("PingAssert", '{"hots": "db"}')
        self.assertEqual(
            [s for s, _, _ in diagnostics(raised.exception)],
            ["`hots` is not a field of `PingAssert`", "missing required field `host`"],
        )
        with self.assertRaises(Err) as raised:
            Checks().validate("PingAssert", '{"host": "localhost"}')
        self.assertEqual([d.severity for d in raised.exception.value], [wit.Severity.WARNING])
        with self.assertRaises(Err) as raised:
            Checks().validate("PongAssert", "{}")
        self.assertEqual(raised.exception.value[0].detail, "did you mean `PingAssert`?")

    def test_config_has_the_defaults_even_when_validate_did_not_add_them(self):
        self.assertEqual(Checks().config(check_input("FileAssert", {})), {"timeout_seconds": 5})
        with self.assertRaises(Err) as raised:
            Checks().check(check_input("FileAssert", {}))
        self.assertIsInstance(raised.exception.value, wit.PluginError_Failed)

    def test_outcomes(self):
        ok = passed("up", timings={"connect": 412})
        self.assertEqual((ok.verdict, ok.message, ok.details, ok.timings), (wit_assertions.Verdict.PASS, "up", "{}", [("connect", 412)]))
        bad = failed("down", expected="status 200", actual="status 503", details={"status": 503})
        self.assertEqual(
            (bad.verdict, bad.expected, bad.actual, json.loads(bad.details)),
            (wit_assertions.Verdict.FAIL, "status 200", "status 503", {"status": 503}),
        )
        self.assertEqual(skipped("not deployed").verdict, wit_assertions.Verdict.SKIP)
        with self.assertRaises(TypeError):
            passed("up", timings=[("connect", 1.5)])

    def test_host_errors_become_plugin_errors(self):
        for host, plugin in [
            (wit.HostError_Denied("not granted"), wit.PluginError_Denied),
            (wit.HostError_TimedOut("slow"), wit.PluginError_Transient),
            (wit.HostError_Failed("refused"), wit.PluginError_Transient),
            (wit.HostError_InvalidArgument("no host"), wit.PluginError_Failed),
            (wit.HostError_TooLarge("big"), wit.PluginError_Failed),
        ]:
            mapped = from_host_error(Err(host))
            self.assertIsInstance(mapped, Err)
            self.assertIsInstance(mapped.value, plugin)
            self.assertEqual(mapped.value.value, host.value)
        other = ValueError("x")
        self.assertIs(from_host_error(other), other)


class Example(unittest.TestCase):
    """The example plugin in CPython, with the host's `probe.http` replaced."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, EXAMPLE)
        import app

        cls.app = app

    @classmethod
    def tearDownClass(cls):
        sys.path.remove(EXAMPLE)
        sys.modules.pop("app", None)

    def run_check(self, http):
        from wit_world.imports import log, probe

        config = {"url": "http://127.0.0.1:1/", "text": "ok"}
        with mock.patch.object(probe, "http", http), mock.patch.object(log, "log", lambda *a: None):
            return self.app.Assertions().check(check_input("HttpBodyContainsAssert", config))

    def test_a_timeout_is_transient_and_a_5xx_an_error(self):
        def timed_out(request):
            raise Err(wit.HostError_TimedOut("no answer in 5 s"))

        with self.assertRaises(Err) as raised:
            self.run_check(timed_out)
        self.assertEqual(raised.exception.value, wit.PluginError_Transient("no answer in 5 s"))

        from wit_world.imports import probe

        def unavailable(request):
            return probe.HttpResponse(status=503, headers=[], body=b"busy", truncated=False, elapsed_us=10, ttfb_us=5)

        with self.assertRaises(Err) as raised:
            self.run_check(unavailable)
        self.assertEqual(raised.exception.value, wit.PluginError_Failed("http://127.0.0.1:1/ answered 503"))


if __name__ == "__main__":
    unittest.main()
