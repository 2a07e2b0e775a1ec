//! The `resource` a check receives: a read-only view of one declaration —
//! its name, type, resolved fields (secrets masked), and its deployed state,
//! read from the Engine when the check first asks for it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use allocative::Allocative;
use clockwork_sdk::host::{docker, log};
use clockwork_sdk::serde_json::{self, Value as Json};
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::none::NoneType;
use starlark::values::structs::AllocStruct;
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, ValueLike, starlark_value,
};

use crate::json::to_starlark;

/// One declaration as the host described it for checks.
#[derive(Debug)]
pub struct ViewData {
    /// Its name, e.g. `nginx-web`.
    pub name: String,
    /// Its type, e.g. `DockerResource`.
    pub type_name: String,
    /// `resource`, `connection` or `assertion`.
    pub kind: String,
    /// Its resolved fields, secrets masked as `***`.
    pub fields: serde_json::Map<String, Json>,
    /// Secret values by name (`POSTGRES_PASSWORD`, `password`), handed out
    /// only when a check asks for one by name.
    pub secrets: serde_json::Map<String, Json>,
    /// The container it runs, if any.
    pub container: Option<String>,
    /// Whether the state records it as deployed.
    pub deployed: bool,
    /// The check asking, for the log line a secret read leaves.
    pub asked_by: String,
    /// What the Engine says about the container, read once.
    live: OnceLock<Result<Option<Json>, String>>,
}

impl ViewData {
    /// A view from the host's JSON (see `program::Program`).
    pub fn from_json(json: &Json, asked_by: &str) -> Result<Self, String> {
        let object = json
            .as_object()
            .ok_or_else(|| "a resource view that is not an object".to_string())?;
        let text = |key: &str| object.get(key).and_then(Json::as_str).map(str::to_string);
        let map = |key: &str| {
            object
                .get(key)
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default()
        };
        Ok(ViewData {
            name: text("name").ok_or_else(|| "a resource view without a name".to_string())?,
            type_name: text("type").unwrap_or_default(),
            kind: text("kind").unwrap_or_else(|| "resource".into()),
            fields: map("fields"),
            secrets: map("secrets"),
            container: text("container"),
            deployed: object
                .get("deployed")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            asked_by: asked_by.to_string(),
            live: OnceLock::new(),
        })
    }

    fn inspect(&self) -> &Result<Option<Json>, String> {
        self.live.get_or_init(|| {
            let Some(container) = &self.container else {
                return Ok(None);
            };
            match docker::inspect_container(container) {
                Ok(Some(text)) => serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| format!("the Engine's answer is not JSON: {e}")),
                Ok(None) => Ok(None),
                Err(e) => Err(crate::host_error_text(&e)),
            }
        })
    }
}

/// The Starlark value of a [`ViewData`].
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, Allocative)]
pub struct ResourceView {
    #[allocative(skip)]
    data: Arc<ViewData>,
}

starlark_simple_value!(ResourceView);

impl ResourceView {
    /// The value for `data`.
    pub fn new(data: Arc<ViewData>) -> Self {
        ResourceView { data }
    }

    /// The container this declaration runs, or its name (a resource's
    /// container has its name).
    pub fn container(&self) -> String {
        self.data
            .container
            .clone()
            .unwrap_or_else(|| self.data.name.clone())
    }

    /// The declaration's name.
    pub fn name(&self) -> &str {
        &self.data.name
    }

    fn state<'v>(&self, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        let live = match self.data.inspect() {
            Ok(live) => live.as_ref(),
            Err(e) => {
                return Err(starlark::Error::new_other(anyhow::anyhow!(
                    "cannot read the state of `{}`: {e}",
                    self.data.name
                )));
            }
        };
        Ok(state_struct(
            heap,
            self.data.container.as_deref(),
            self.data.deployed,
            live,
        ))
    }
}

/// `resource.state`: what the Engine reports about the container.
fn state_struct<'v>(
    heap: Heap<'v>,
    container: Option<&str>,
    deployed: bool,
    live: Option<&Json>,
) -> Value<'v> {
    let none = || heap.alloc(NoneType);
    let Some(live) = live else {
        return heap.alloc(AllocStruct([
            ("deployed", heap.alloc(deployed && container.is_none())),
            (
                "container",
                container.map(|c| heap.alloc(c)).unwrap_or_else(none),
            ),
            ("exists", heap.alloc(false)),
            ("running", heap.alloc(false)),
            ("status", heap.alloc("absent")),
            ("health", none()),
            ("restart_count", heap.alloc(0)),
            ("exit_code", none()),
            ("started_at", none()),
            ("ip", none()),
            (
                "addresses",
                to_starlark(&Json::Object(Default::default()), heap),
            ),
            ("ports", to_starlark(&Json::Array(Vec::new()), heap)),
        ]));
    };
    let state = &live["State"];
    let text = |v: &Json| v.as_str().map(|s| heap.alloc(s)).unwrap_or_else(none);
    let addresses: serde_json::Map<String, Json> = live["NetworkSettings"]["Networks"]
        .as_object()
        .map(|networks| {
            networks
                .iter()
                .filter_map(|(name, n)| {
                    n["IPAddress"]
                        .as_str()
                        .filter(|ip| !ip.is_empty())
                        .map(|ip| (name.clone(), Json::String(ip.to_string())))
                })
                .collect()
        })
        .unwrap_or_default();
    let first_ip = addresses
        .values()
        .next()
        .and_then(Json::as_str)
        .map(|ip| heap.alloc(ip))
        .unwrap_or_else(none);
    let ports: Vec<Json> = live["NetworkSettings"]["Ports"]
        .as_object()
        .map(|ports| {
            ports
                .iter()
                .flat_map(|(spec, bindings)| {
                    let (port, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
                    let port: Json = port.parse::<u16>().map(Json::from).unwrap_or(Json::Null);
                    let bound: Vec<Json> = bindings
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .map(|b| {
                                    serde_json::json!({
                                        "container_port": port,
                                        "protocol": protocol,
                                        "host_ip": b["HostIp"],
                                        "host_port": b["HostPort"].as_str().and_then(|p| p.parse::<u16>().ok()),
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if bound.is_empty() {
                        vec![serde_json::json!({
                            "container_port": port,
                            "protocol": protocol,
                            "host_ip": null,
                            "host_port": null,
                        })]
                    } else {
                        bound
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let health = state["Health"]["Status"].as_str();
    heap.alloc(AllocStruct([
        ("deployed", heap.alloc(true)),
        (
            "container",
            container.map(|c| heap.alloc(c)).unwrap_or_else(none),
        ),
        ("exists", heap.alloc(true)),
        (
            "running",
            heap.alloc(state["Running"].as_bool().unwrap_or(false)),
        ),
        ("status", text(&state["Status"])),
        ("health", health.map(|h| heap.alloc(h)).unwrap_or_else(none)),
        (
            "restart_count",
            heap.alloc(live["RestartCount"].as_i64().unwrap_or(0) as i32),
        ),
        (
            "exit_code",
            state["ExitCode"]
                .as_i64()
                .map(|c| heap.alloc(c as i32))
                .unwrap_or_else(none),
        ),
        ("started_at", text(&state["StartedAt"])),
        ("ip", first_ip),
        ("addresses", to_starlark(&Json::Object(addresses), heap)),
        ("ports", ports_value(&ports, heap)),
    ]))
}

fn ports_value<'v>(ports: &[Json], heap: Heap<'v>) -> Value<'v> {
    let items: Vec<Value<'v>> = ports
        .iter()
        .map(|p| {
            heap.alloc(AllocStruct([
                ("container_port", to_starlark(&p["container_port"], heap)),
                ("protocol", to_starlark(&p["protocol"], heap)),
                ("host_ip", to_starlark(&p["host_ip"], heap)),
                ("host_port", to_starlark(&p["host_port"], heap)),
            ]))
        })
        .collect();
    heap.alloc(starlark::values::list::AllocList(items))
}

impl fmt::Display for ResourceView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} {}>", self.data.type_name, self.data.name)
    }
}

/// Attributes that are not fields.
const OWN: [&str; 6] = ["name", "type", "kind", "container", "state", "fields"];

#[starlark_value(type = "resource")]
impl<'v> StarlarkValue<'v> for ResourceView {
    fn get_methods() -> Option<&'static Methods> {
        static METHODS: MethodsStatic = MethodsStatic::new("resource", view_methods);
        Some(METHODS.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        let d = &self.data;
        Some(match attribute {
            "name" => heap.alloc(d.name.as_str()),
            "type" => heap.alloc(d.type_name.as_str()),
            "kind" => heap.alloc(d.kind.as_str()),
            "container" => heap.alloc(self.container()),
            "fields" => to_starlark(&Json::Object(d.fields.clone()), heap),
            // `state` can fail (no Engine); an attribute cannot, so it is
            // reported as a value the check can look at.
            "state" => match self.state(heap) {
                Ok(v) => v,
                Err(e) => {
                    return Some(heap.alloc(AllocStruct([("error", heap.alloc(e.to_string()))])));
                }
            },
            field => match d.fields.get(field) {
                Some(value) => to_starlark(value, heap),
                None => return None,
            },
        })
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        OWN.contains(&attribute) || self.data.fields.contains_key(attribute)
    }

    fn dir_attr(&self) -> Vec<String> {
        let mut names: Vec<String> = OWN.iter().map(|s| s.to_string()).collect();
        names.push("secret".into());
        names.extend(self.data.fields.keys().cloned());
        names
    }
}

#[starlark_module]
fn view_methods(builder: &mut MethodsBuilder) {
    /// A secret of the declaration by name: a secret field
    /// (`resource.secret("password")`) or a secret entry of a map field
    /// (`resource.secret("POSTGRES_PASSWORD")`). Each read is logged.
    fn secret<'v>(
        this: Value<'v>,
        #[starlark(require = pos)] name: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let view = this
            .downcast_ref::<ResourceView>()
            .ok_or_else(|| anyhow::anyhow!("`secret` is a method of resources"))?;
        let d = &view.data;
        match d.secrets.get(name) {
            Some(value) => {
                log::log(
                    log::Level::Info,
                    &format!(
                        "check `{}` read the secret `{name}` of `{}`",
                        d.asked_by, d.name
                    ),
                    &[
                        ("resource".into(), d.name.clone()),
                        ("secret".into(), name.to_string()),
                    ],
                );
                Ok(to_starlark(value, heap))
            }
            None => {
                let known: Vec<&str> = d.secrets.keys().map(String::as_str).collect();
                if known.is_empty() {
                    anyhow::bail!("`{}` has no secret `{name}`: it has no secrets", d.name)
                }
                anyhow::bail!(
                    "`{}` has no secret `{name}`; its secrets are: {}",
                    d.name,
                    known.join(", ")
                )
            }
        }
    }
}
