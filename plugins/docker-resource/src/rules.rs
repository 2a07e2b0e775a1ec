//! Completion rules: what a well-known service needs when the user names it
//! but leaves its image or health check out. Offline and deterministic: the
//! same description always gives the same values, and what the user wrote
//! is never replaced (the host applies a suggestion only to a field still
//! missing).
//!
//! A service is recognised by a word of the declaration's `name` or
//! `description` (`postgres-db`, "PostgreSQL database for the API"), the
//! first match in this table winning. Recognised: PostgreSQL, MySQL,
//! MariaDB, Redis, nginx, Prometheus, Grafana, RabbitMQ, MongoDB, MinIO.
//! A container that connects to exactly one Redis and sets no `env_vars`
//! of its own gets `REDIS_URL`.

use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{CompletionInput, Suggestion};
use clockwork_sdk::serde_json;

/// A service the rules know.
struct Known {
    /// Words that name it, lower-case.
    words: &'static [&'static str],
    /// Its name for the reason shown by `plan`.
    service: &'static str,
    /// The image of its official distribution.
    image: &'static str,
    /// A readiness check that needs nothing but the image, for services
    /// whose check does not depend on the user's configuration. HTTP
    /// servers get none: their port and paths are the user's to set, and a
    /// wrong guess would hold every apply at an unhealthy container.
    healthcheck: &'static [&'static str],
}

const KNOWN: &[Known] = &[
    Known {
        words: &["postgres", "postgresql", "pgsql"],
        service: "PostgreSQL",
        image: "postgres:15-alpine",
        healthcheck: &[
            "CMD-SHELL",
            "pg_isready -U \"${POSTGRES_USER:-postgres}\" -h 127.0.0.1",
        ],
    },
    Known {
        words: &["mariadb"],
        service: "MariaDB",
        image: "mariadb:11",
        healthcheck: &["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
    },
    Known {
        words: &["mysql"],
        service: "MySQL",
        image: "mysql:8",
        healthcheck: &["CMD", "mysqladmin", "ping", "-h", "127.0.0.1"],
    },
    Known {
        words: &["redis"],
        service: "Redis",
        image: "redis:7-alpine",
        healthcheck: &["CMD", "redis-cli", "ping"],
    },
    Known {
        words: &["nginx"],
        service: "nginx",
        image: "nginx:alpine",
        healthcheck: &[],
    },
    Known {
        words: &["prometheus"],
        service: "Prometheus",
        image: "prom/prometheus:latest",
        healthcheck: &[],
    },
    Known {
        words: &["grafana"],
        service: "Grafana",
        image: "grafana/grafana:latest",
        healthcheck: &[],
    },
    Known {
        words: &["rabbitmq", "rabbit"],
        service: "RabbitMQ",
        image: "rabbitmq:3-management-alpine",
        healthcheck: &["CMD", "rabbitmq-diagnostics", "-q", "ping"],
    },
    Known {
        words: &["mongodb", "mongo"],
        service: "MongoDB",
        image: "mongo:7",
        healthcheck: &[
            "CMD",
            "mongosh",
            "--quiet",
            "--eval",
            "db.adminCommand('ping')",
        ],
    },
    Known {
        words: &["minio"],
        service: "MinIO",
        image: "minio/minio:latest",
        healthcheck: &[],
    },
];

/// The service a declaration names, by the words of its name and
/// description.
fn recognised(config: &Value, name: &str) -> Option<&'static Known> {
    let text = format!(
        "{name} {}",
        config
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
    )
    .to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    KNOWN
        .iter()
        .find(|k| k.words.iter().any(|w| words.contains(w)))
}

/// The service an image runs, by its repository's last part
/// (`postgres:15-alpine`, `docker.io/library/redis`).
fn runs(image: &str) -> Option<&'static Known> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let repository = without_digest
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(without_digest, |(repo, _)| repo);
    let last = repository.rsplit('/').next().unwrap_or(repository);
    KNOWN
        .iter()
        .find(|k| k.image.split([':', '/']).any(|p| p == last) || k.words.contains(&last))
}

/// The suggestions for the missing fields of one declaration.
pub fn complete(input: &CompletionInput) -> Vec<Suggestion> {
    let Ok(config) = serde_json::from_str::<Value>(&input.config) else {
        return Vec::new();
    };
    let missing = |field: &str| input.missing.iter().any(|m| m == field);
    let mut out = Vec::new();
    let given_image = config.get("image").and_then(Value::as_str);
    let known = match given_image {
        Some(image) => runs(image),
        None => recognised(&config, &input.target.name),
    };
    if missing("env_vars")
        && let Some(url) = redis_url(&input.neighbours)
    {
        out.push(url);
    }
    let Some(known) = known else {
        return out;
    };
    if missing("image") && given_image.is_none() {
        out.push(Suggestion {
            field: "image".into(),
            value: json!(known.image).to_string(),
            reason: format!("official {} image", known.service),
        });
    }
    // A container given its own command or entrypoint does not run the
    // image's service (`redis:7-alpine` running a shell loop): no check of
    // that service.
    let own_command = ["command", "entrypoint"]
        .iter()
        .any(|f| config.get(*f).is_some_and(|c| !c.is_null()));
    if missing("healthcheck") && !known.healthcheck.is_empty() && !own_command {
        out.push(Suggestion {
            field: "healthcheck".into(),
            value: json!({"test": known.healthcheck}).to_string(),
            reason: format!("{} readiness check", known.service),
        });
    }
    out
}

/// `REDIS_URL` for a container that connects to exactly one Redis (a
/// known Redis by its image, name or description), at that container's
/// name and the container side of its first port (6379 when none): what
/// nearly every Redis client reads.
fn redis_url(neighbours: &str) -> Option<Suggestion> {
    let neighbours: Vec<Value> = serde_json::from_str(neighbours).ok()?;
    let redis: Vec<&Value> = neighbours
        .iter()
        .filter(|n| n["type-name"] == "DockerResource")
        .filter(|n| {
            let config = &n["config"];
            let name = n["name"].as_str().unwrap_or_default();
            let known = match config.get("image").and_then(Value::as_str) {
                Some(image) => runs(image),
                None => recognised(config, name),
            };
            known.is_some_and(|k| k.service == "Redis")
        })
        .collect();
    let [one] = redis.as_slice() else {
        return None;
    };
    let name = one["name"].as_str()?;
    let port = clockwork_sdk::clockwork_schema::first_container_port(&one["config"]["ports"])
        .unwrap_or(6379);
    Some(Suggestion {
        field: "env_vars".into(),
        value: json!({"REDIS_URL": format!("redis://{name}:{port}")}).to_string(),
        reason: format!("connects to the Redis `{name}`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clockwork_sdk::ResourceRef;

    fn input(name: &str, config: Value, missing: &[&str]) -> CompletionInput {
        CompletionInput {
            target: ResourceRef {
                type_name: "DockerResource".into(),
                name: name.into(),
            },
            config: config.to_string(),
            missing: missing.iter().map(|m| m.to_string()).collect(),
            neighbours: "[]".into(),
        }
    }

    #[test]
    fn a_container_connected_to_one_redis_gets_its_url() {
        let neighbours = |list: Value| {
            let mut i = input("api", json!({"image": "busybox"}), &["env_vars"]);
            i.neighbours = list.to_string();
            values(&complete(&i))
        };
        let cache = json!({"type-name": "DockerResource", "name": "redis-cache", "config": {"image": "redis:7-alpine", "ports": ["6380:6379"]}});
        assert_eq!(
            neighbours(json!([cache])),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://redis-cache:6379"})
            )]
        );
        let described = json!({"type-name": "DockerResource", "name": "sessions", "config": {"description": "Redis for sessions"}});
        assert_eq!(
            neighbours(json!([described])),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://sessions:6379"})
            )]
        );
        // Two: which one is `REDIS_URL` is the user's to say.
        assert_eq!(neighbours(json!([cache, described])), vec![]);
        let db = json!({"type-name": "DockerResource", "name": "db", "config": {"image": "postgres:15"}});
        assert_eq!(neighbours(json!([db])), vec![]);
    }

    fn values(suggestions: &[Suggestion]) -> Vec<(String, Value)> {
        suggestions
            .iter()
            .map(|s| {
                (
                    s.field.clone(),
                    serde_json::from_str(&s.value).expect("json"),
                )
            })
            .collect()
    }

    #[test]
    fn a_service_named_in_the_name_or_description_gets_its_image_and_readiness_check() {
        let by_name = complete(&input("postgres-db", json!({}), &["image", "healthcheck"]));
        assert_eq!(
            values(&by_name)[0],
            ("image".into(), json!("postgres:15-alpine"))
        );
        assert!(
            values(&by_name)[1].1["test"][1]
                .as_str()
                .unwrap_or_default()
                .contains("pg_isready")
        );
        let by_description = complete(&input(
            "cache",
            json!({"description": "Redis cache for sessions"}),
            &["image", "healthcheck"],
        ));
        assert_eq!(
            values(&by_description),
            [
                ("image".into(), json!("redis:7-alpine")),
                (
                    "healthcheck".into(),
                    json!({"test": ["CMD", "redis-cli", "ping"]})
                ),
            ]
        );
    }

    #[test]
    fn a_given_image_decides_the_service_and_is_never_replaced() {
        let out = complete(&input(
            "db",
            json!({"image": "docker.io/library/redis:7"}),
            &["healthcheck"],
        ));
        assert_eq!(
            values(&out),
            [(
                "healthcheck".into(),
                json!({"test": ["CMD", "redis-cli", "ping"]})
            )]
        );
        // The user's image says nginx although the name says postgres: no
        // PostgreSQL check, and no guess at an HTTP server's port.
        let out = complete(&input(
            "postgres-proxy",
            json!({"image": "nginx:alpine"}),
            &["healthcheck"],
        ));
        assert!(out.is_empty(), "{:?}", values(&out));
        let out = complete(&input(
            "web",
            json!({"description": "nginx front"}),
            &["image", "healthcheck"],
        ));
        assert_eq!(values(&out), [("image".into(), json!("nginx:alpine"))]);
    }

    #[test]
    fn a_container_running_its_own_command_gets_no_check_of_the_images_service() {
        let out = complete(&input(
            "worker",
            json!({"image": "redis:7-alpine", "command": ["sh", "-c", "sleep 3600"]}),
            &["healthcheck"],
        ));
        assert!(out.is_empty(), "{:?}", values(&out));
        let out = complete(&input(
            "worker",
            json!({"image": "redis:7-alpine", "entrypoint": ["sleep", "3600"]}),
            &["healthcheck"],
        ));
        assert!(out.is_empty(), "{:?}", values(&out));
    }

    #[test]
    fn nothing_is_suggested_for_what_is_not_missing_or_not_known() {
        assert!(complete(&input("postgres", json!({}), &[])).is_empty());
        assert!(
            complete(&input(
                "api",
                json!({"description": "the REST API"}),
                &["image"]
            ))
            .is_empty()
        );
        // Words, not substrings: "progress" does not name PostgreSQL.
        assert!(complete(&input("progress-tracker", json!({}), &["image"])).is_empty());
        // The same input gives the same answer.
        let a = complete(&input("mysql-main", json!({}), &["image", "healthcheck"]));
        let b = complete(&input("mysql-main", json!({}), &["image", "healthcheck"]));
        assert_eq!(values(&a), values(&b));
        assert_eq!(values(&a)[0].1, json!("mysql:8"));
    }
}
