//! What executing a plan asks of the Docker Engine, as one narrow trait:
//! [`Engine`] is the real one, and the executor's tests give it plain
//! answers. Observation, which only `apply::run` and `destroy` need before
//! executing, stays on [`Engine`].

use std::time::Duration;

use clockwork_schema::actions::{ContainerSpec, ExecSpec, NetworkSpec, VolumeSpec, WaitSpec};
use futures::future::BoxFuture;
use serde_json::Value as Json;

use crate::docker::{ContainerScope, Engine, EngineError, ExecOutput, Readiness};
use crate::policy::Scope;

/// An Engine call on its way.
pub type EngineCall<'a, T> = BoxFuture<'a, Result<T, EngineError>>;

/// The Engine operations actions and readiness checks use. Every one acts
/// only on this project's objects; see [`Engine`] for the rules.
pub trait ContainerEngine: Send + Sync {
    /// Makes sure an image is present.
    fn ensure_image<'a>(&'a self, image: &'a str) -> EngineCall<'a, Json>;
    /// Creates a project network unless it exists.
    fn ensure_network<'a>(&'a self, spec: &'a NetworkSpec) -> EngineCall<'a, Json>;
    /// Creates a project volume unless it exists.
    fn ensure_volume<'a>(&'a self, spec: &'a VolumeSpec) -> EngineCall<'a, Json>;
    /// Creates and starts `owner`'s container, or starts the one with the
    /// same config hash.
    fn ensure_container<'a>(
        &'a self,
        owner: &'a Scope,
        spec: &'a ContainerSpec,
        grace: Duration,
    ) -> EngineCall<'a, Json>;
    /// Stops (within `grace`) and removes `resource`'s container `name`.
    fn remove_container<'a>(
        &'a self,
        resource: &'a str,
        name: &'a str,
        grace: Duration,
    ) -> EngineCall<'a, Json>;
    /// Removes a project network.
    fn remove_network<'a>(&'a self, name: &'a str) -> EngineCall<'a, ()>;
    /// Removes a project volume and its data.
    fn remove_volume<'a>(&'a self, name: &'a str) -> EngineCall<'a, ()>;
    /// Runs a command in one of `scope`'s containers.
    fn exec<'a>(
        &'a self,
        spec: &'a ExecSpec,
        scope: ContainerScope<'a>,
    ) -> EngineCall<'a, ExecOutput>;
    /// Waits for a condition.
    fn wait<'a>(&'a self, spec: &'a WaitSpec, scope: ContainerScope<'a>) -> EngineCall<'a, Json>;
    /// The containers of a resource.
    fn containers_of<'a>(&'a self, resource: &'a str) -> EngineCall<'a, Vec<String>>;
    /// Waits until a container runs (and is healthy, when `healthy`).
    fn wait_ready<'a>(
        &'a self,
        name: &'a str,
        healthy: bool,
        deadline: Duration,
        readiness: Readiness,
    ) -> EngineCall<'a, ()>;
    /// What is wrong with a container that should run, if anything.
    fn trouble<'a>(
        &'a self,
        name: &'a str,
        baseline: Option<i64>,
    ) -> EngineCall<'a, Option<String>>;
    /// The names of this project's containers as they die or turn
    /// unhealthy, from now on: what lets readiness seen once be trusted
    /// until then. `None` when the Engine cannot say; readiness is then
    /// checked every time.
    fn deaths(&self) -> Option<Deaths> {
        None
    }
    /// Whether a container replaced by one of the same name is changed in
    /// place instead (a swarm's service, updated task by task and rolled
    /// back when the new one fails).
    fn updates_in_place(&self) -> bool {
        false
    }
}

/// Container names, as they die.
pub type Deaths = futures::stream::BoxStream<'static, String>;

impl ContainerEngine for Engine {
    fn ensure_image<'a>(&'a self, image: &'a str) -> EngineCall<'a, Json> {
        Box::pin(Engine::ensure_image(self, image))
    }

    fn ensure_network<'a>(&'a self, spec: &'a NetworkSpec) -> EngineCall<'a, Json> {
        Box::pin(Engine::ensure_network(self, spec))
    }

    fn ensure_volume<'a>(&'a self, spec: &'a VolumeSpec) -> EngineCall<'a, Json> {
        Box::pin(Engine::ensure_volume(self, spec))
    }

    fn ensure_container<'a>(
        &'a self,
        owner: &'a Scope,
        spec: &'a ContainerSpec,
        grace: Duration,
    ) -> EngineCall<'a, Json> {
        Box::pin(Engine::ensure_container(self, owner, spec, grace))
    }

    fn remove_container<'a>(
        &'a self,
        resource: &'a str,
        name: &'a str,
        grace: Duration,
    ) -> EngineCall<'a, Json> {
        Box::pin(Engine::remove_container(self, resource, name, grace))
    }

    fn remove_network<'a>(&'a self, name: &'a str) -> EngineCall<'a, ()> {
        Box::pin(Engine::remove_network(self, name))
    }

    fn remove_volume<'a>(&'a self, name: &'a str) -> EngineCall<'a, ()> {
        Box::pin(Engine::remove_volume(self, name))
    }

    fn exec<'a>(
        &'a self,
        spec: &'a ExecSpec,
        scope: ContainerScope<'a>,
    ) -> EngineCall<'a, ExecOutput> {
        Box::pin(Engine::exec(self, spec, scope))
    }

    fn wait<'a>(&'a self, spec: &'a WaitSpec, scope: ContainerScope<'a>) -> EngineCall<'a, Json> {
        Box::pin(Engine::wait(self, spec, scope))
    }

    fn containers_of<'a>(&'a self, resource: &'a str) -> EngineCall<'a, Vec<String>> {
        Box::pin(Engine::containers_of(self, resource))
    }

    fn wait_ready<'a>(
        &'a self,
        name: &'a str,
        healthy: bool,
        deadline: Duration,
        readiness: Readiness,
    ) -> EngineCall<'a, ()> {
        Box::pin(Engine::wait_ready(self, name, healthy, deadline, readiness))
    }

    fn trouble<'a>(
        &'a self,
        name: &'a str,
        baseline: Option<i64>,
    ) -> EngineCall<'a, Option<String>> {
        Box::pin(Engine::trouble(self, name, baseline))
    }

    fn updates_in_place(&self) -> bool {
        self.is_swarm()
    }

    fn deaths(&self) -> Option<Deaths> {
        Some(Engine::deaths(self))
    }
}
