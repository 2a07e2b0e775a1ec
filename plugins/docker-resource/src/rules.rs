//! Completion rules: what a well-known service needs when the user names it
//! but leaves its image or health check out. Offline and deterministic: the
//! same description always gives the same values, and what the user wrote
//! is never replaced (the host applies a suggestion only to a field still
//! missing).
//!
//! A service is recognised by its image, else by a word of the
//! declaration's `name` or of the subject of its `description` — what it
//! *is* ("PostgreSQL database for the API"), never what it uses ("FastAPI
//! server that caches in Redis" is not Redis) — the first match in this
//! table winning. Recognised: PostgreSQL, MySQL, MariaDB, Redis, nginx,
//! Prometheus, Grafana, RabbitMQ, MongoDB, MinIO.
//!
//! A container that connects to known services and sets no `env_vars` of
//! its own gets the address each one's clients read: `DATABASE_URL` (the
//! string a `DatabaseConnection` builds, from the database container's own
//! variables), `REDIS_URL`, `MONGO_URL`, `AMQP_URL` — each only when it
//! connects to exactly one service of that kind.

use clockwork_sdk::database::{Engine, Login, url_escape};
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
    /// The variable its clients read its address from, if any.
    address: Option<Address>,
}

/// How a client of a known service finds it.
#[derive(Clone, Copy)]
enum Address {
    /// `DATABASE_URL`, as a `DatabaseConnection` to it builds it.
    Sql(Engine),
    /// `REDIS_URL`: `redis://name:port`.
    Redis,
    /// `MONGO_URL`: `mongodb://[user:password@]name:port`.
    Mongo,
    /// `AMQP_URL`: `amqp://user:password@name:port`.
    Amqp,
}

impl Address {
    fn variable(self) -> &'static str {
        match self {
            Address::Sql(_) => "DATABASE_URL",
            Address::Redis => "REDIS_URL",
            Address::Mongo => "MONGO_URL",
            Address::Amqp => "AMQP_URL",
        }
    }
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
        address: Some(Address::Sql(Engine::Postgres)),
    },
    Known {
        words: &["mariadb"],
        service: "MariaDB",
        image: "mariadb:11",
        healthcheck: &["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
        address: Some(Address::Sql(Engine::MySql)),
    },
    Known {
        words: &["mysql"],
        service: "MySQL",
        image: "mysql:8",
        healthcheck: &["CMD", "mysqladmin", "ping", "-h", "127.0.0.1"],
        address: Some(Address::Sql(Engine::MySql)),
    },
    Known {
        words: &["redis"],
        service: "Redis",
        image: "redis:7-alpine",
        healthcheck: &["CMD", "redis-cli", "ping"],
        address: Some(Address::Redis),
    },
    Known {
        words: &["nginx"],
        service: "nginx",
        image: "nginx:alpine",
        healthcheck: &[],
        address: None,
    },
    Known {
        words: &["prometheus"],
        service: "Prometheus",
        image: "prom/prometheus:latest",
        healthcheck: &[],
        address: None,
    },
    Known {
        words: &["grafana"],
        service: "Grafana",
        image: "grafana/grafana:latest",
        healthcheck: &[],
        address: None,
    },
    Known {
        words: &["rabbitmq", "rabbit"],
        service: "RabbitMQ",
        image: "rabbitmq:3-management-alpine",
        healthcheck: &["CMD", "rabbitmq-diagnostics", "-q", "ping"],
        address: Some(Address::Amqp),
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
        address: Some(Address::Mongo),
    },
    Known {
        words: &["minio"],
        service: "MinIO",
        image: "minio/minio:latest",
        healthcheck: &[],
        address: None,
    },
];

/// The service a declaration names, by the words of its name and of the
/// subject of its description.
fn recognised(config: &Value, name: &str) -> Option<&'static Known> {
    let description = config
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = format!("{name} {}", subject(description)).to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    KNOWN
        .iter()
        .find(|k| k.words.iter().any(|w| words.contains(w)))
}

/// What a description says a thing *is*: its words up to the first that
/// starts saying what it does, uses or serves ("PostgreSQL database for the
/// API" → "PostgreSQL database"; "FastAPI backend server that needs a
/// database and Redis" → "FastAPI backend server").
fn subject(description: &str) -> String {
    const TURNS: &[&str] = &[
        "that",
        "which",
        "who",
        "with",
        "using",
        "uses",
        "use",
        "for",
        "needs",
        "need",
        "needing",
        "connected",
        "connects",
        "connecting",
        "connect",
        "talks",
        "talking",
        "reads",
        "reading",
        "writes",
        "writing",
        "backed",
        "by",
        "from",
        "to",
        "in",
        "on",
        "behind",
        "via",
        "and",
        "caching",
        "caches",
        "stores",
        "storing",
        "processes",
        "processing",
        "serves",
        "serving",
        "monitors",
        "monitoring",
        "queries",
        "querying",
        "calls",
        "where",
        "when",
        "into",
        "of",
    ];
    let first_clause = description
        .split(['.', ',', ';', ':', '(', '—', '\n'])
        .next()
        .unwrap_or_default();
    first_clause
        .split_whitespace()
        .take_while(|w| {
            let w = w
                .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_lowercase();
            !TURNS.contains(&w.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
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
        && let Some(urls) = addresses(&input.neighbours, &config["env_vars"])
    {
        out.push(urls);
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
    let check = readiness_check(known, given_image.unwrap_or(known.image));
    if missing("healthcheck") && !check.is_empty() && !own_command {
        out.push(Suggestion {
            field: "healthcheck".into(),
            value: json!({"test": check}).to_string(),
            reason: format!("{} readiness check", known.service),
        });
    }
    out
}

/// The service's readiness check with a tool that `image`'s version has:
/// MongoDB images before 6 have the `mongo` shell, not `mongosh`; MariaDB
/// images before 10.4 have no `healthcheck.sh`.
fn readiness_check(known: &Known, image: &str) -> &'static [&'static str] {
    let version = tag_version(image);
    let before = |major: u32, minor: u32| version.is_some_and(|v| v < (major, minor));
    match known.service {
        "MongoDB" if before(6, 0) => &[
            "CMD",
            "mongo",
            "--quiet",
            "--eval",
            "db.adminCommand('ping')",
        ],
        "MariaDB" if before(10, 4) => &["CMD", "mysqladmin", "ping", "-h", "127.0.0.1"],
        _ => known.healthcheck,
    }
}

/// The version an image's tag starts with (`mongo:4.2` → 4.2,
/// `mariadb:10-focal` → 10.0); `None` for `latest`, a name or no tag.
fn tag_version(image: &str) -> Option<(u32, u32)> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (_, tag) = without_digest
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))?;
    let mut numbers = tag
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.');
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The address of each known service a container connects to, one
/// variable per kind of service: a kind it connects to twice is the user's
/// to say (which one is `DATABASE_URL`?) and is left out, and so is a
/// variable a connection already sets (`contributed`, a
/// `DatabaseConnection`'s `DATABASE_URL`).
fn addresses(neighbours: &str, contributed: &Value) -> Option<Suggestion> {
    let neighbours: Vec<Value> = serde_json::from_str(neighbours).ok()?;
    let mut found: Vec<(&'static str, Vec<(Address, &Value)>)> = Vec::new();
    // An explicit connection (a `DatabaseConnection`, a
    // `DependencyConnection` for ordering only) says itself what it gives.
    let plain = neighbours
        .iter()
        .filter(|n| n["type-name"] == "DockerResource" && n["plain"] == true);
    for n in plain {
        let config = &n["config"];
        let name = n["name"].as_str().unwrap_or_default();
        let known = match config.get("image").and_then(Value::as_str) {
            Some(image) => runs(image),
            None => recognised(config, name),
        };
        let Some(address) = known.and_then(|k| k.address) else {
            continue;
        };
        match found.iter_mut().find(|(v, _)| *v == address.variable()) {
            Some((_, of_kind)) => of_kind.push((address, n)),
            None => found.push((address.variable(), vec![(address, n)])),
        }
    }
    let mut env = serde_json::Map::new();
    let mut reasons = Vec::new();
    for (variable, of_kind) in found {
        if contributed.get(variable).is_some() {
            continue;
        }
        let [(address, n)] = of_kind.as_slice() else {
            continue;
        };
        let name = n["name"].as_str()?;
        let Some(url) = address_of(*address, name, &n["config"]) else {
            continue;
        };
        env.insert(variable.to_string(), Value::String(url));
        reasons.push(format!("`{variable}` of `{name}`"));
    }
    if env.is_empty() {
        return None;
    }
    Some(Suggestion {
        field: "env_vars".into(),
        value: Value::Object(env).to_string(),
        reason: format!(
            "the addresses of what it connects to: {}",
            reasons.join(", ")
        ),
    })
}

/// The address of service `name` (config `config`), from its own
/// variables and the container side of its first port.
fn address_of(address: Address, name: &str, config: &Value) -> Option<String> {
    let port = |default| {
        clockwork_sdk::clockwork_schema::first_container_port(&config["ports"]).unwrap_or(default)
    };
    let variable = |key: &str| {
        config["env_vars"][key]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(url_escape)
    };
    match address {
        Address::Sql(engine) => Login::of(engine, name, &json!({}), config).url(None).ok(),
        Address::Redis => Some(format!("redis://{name}:{}", port(6379))),
        Address::Mongo => Some(
            match (
                variable("MONGO_INITDB_ROOT_USERNAME"),
                variable("MONGO_INITDB_ROOT_PASSWORD"),
            ) {
                (Some(user), Some(password)) => {
                    format!("mongodb://{user}:{password}@{name}:{}", port(27017))
                }
                _ => format!("mongodb://{name}:{}", port(27017)),
            },
        ),
        Address::Amqp => Some(format!(
            "amqp://{}:{}@{name}:{}",
            variable("RABBITMQ_DEFAULT_USER").unwrap_or_else(|| "guest".into()),
            variable("RABBITMQ_DEFAULT_PASS").unwrap_or_else(|| "guest".into()),
            port(5672)
        )),
    }
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
        let cache = json!({"type-name": "DockerResource", "plain": true, "name": "redis-cache", "config": {"image": "redis:7-alpine", "ports": ["6380:6379"]}});
        assert_eq!(
            neighbours(json!([cache])),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://redis-cache:6379"})
            )]
        );
        let described = json!({"type-name": "DockerResource", "plain": true, "name": "sessions", "config": {"description": "Redis for sessions"}});
        assert_eq!(
            neighbours(json!([described])),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://sessions:6379"})
            )]
        );
        // Two: which one is `REDIS_URL` is the user's to say.
        assert_eq!(neighbours(json!([cache, described])), vec![]);
    }

    #[test]
    fn a_container_connected_to_known_services_gets_each_ones_address() {
        let with = |list: Value| {
            let mut i = input(
                "api-server",
                json!({"description": "FastAPI backend"}),
                &["env_vars"],
            );
            i.neighbours = list.to_string();
            values(&complete(&i))
        };
        // Seed 000: the api connects to postgres and redis.
        let postgres = json!({"type-name": "DockerResource", "plain": true, "name": "postgres-db", "config": {
            "image": "postgres:15-alpine", "ports": ["5432:5432"],
            "env_vars": {"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "secret123"}}});
        let redis = json!({"type-name": "DockerResource", "plain": true, "name": "redis-cache", "config": {"image": "redis:7-alpine", "ports": ["6379:6379"]}});
        assert_eq!(
            with(json!([postgres, redis])),
            vec![(
                "env_vars".to_string(),
                json!({
                    "DATABASE_URL": "postgresql://admin:secret123@postgres-db:5432/appdb",
                    "REDIS_URL": "redis://redis-cache:6379"
                })
            )]
        );
        let maria = json!({"type-name": "DockerResource", "plain": true, "name": "shop-db", "config": {
            "image": "mariadb:11", "env_vars": {"MARIADB_USER": "shop", "MARIADB_PASSWORD": "p@ss", "MARIADB_DATABASE": "shop"}}});
        let mongo = json!({"type-name": "DockerResource", "plain": true, "name": "events", "config": {
            "image": "mongo:7", "env_vars": {"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": "pw"}}});
        let rabbit = json!({"type-name": "DockerResource", "plain": true, "name": "queue", "config": {"description": "RabbitMQ broker"}});
        assert_eq!(
            with(json!([maria, mongo, rabbit])),
            vec![(
                "env_vars".to_string(),
                json!({
                    "DATABASE_URL": "mysql://shop:p%40ss@shop-db:3306/shop",
                    "MONGO_URL": "mongodb://root:pw@events:27017",
                    "AMQP_URL": "amqp://guest:guest@queue:5672"
                })
            )]
        );
        // A `DatabaseConnection` sets `DATABASE_URL` itself.
        let mut by_connection = input(
            "api-server",
            json!({"env_vars": {"DATABASE_URL": "postgresql://x"}}),
            &["env_vars"],
        );
        by_connection.neighbours = json!([postgres, redis]).to_string();
        assert_eq!(
            values(&complete(&by_connection)),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://redis-cache:6379"})
            )]
        );
        // Reached by an explicit connection: its own to say.
        let mut explicit = postgres.clone();
        explicit["plain"] = json!(false);
        assert_eq!(with(json!([explicit])), vec![]);
        // Two SQL databases: `DATABASE_URL` is the user's to say; Redis
        // still gets its own.
        let second = json!({"type-name": "DockerResource", "plain": true, "name": "reports", "config": {"image": "postgres:16"}});
        assert_eq!(
            with(json!([postgres, second, redis])),
            vec![(
                "env_vars".to_string(),
                json!({"REDIS_URL": "redis://redis-cache:6379"})
            )]
        );
    }

    #[test]
    fn the_image_comes_from_what_a_thing_is_never_from_what_it_uses() {
        for description in [
            "FastAPI backend server that provides REST API endpoints. Needs database connection for user data and Redis for caching API responses.",
            "Background worker service that processes async jobs from Redis queue",
            "API server caching in Redis",
            "Dashboard backed by PostgreSQL",
        ] {
            let out = complete(&input(
                "app",
                json!({"description": description}),
                &["image"],
            ));
            assert!(out.is_empty(), "{description}: {:?}", values(&out));
        }
        for (description, image) in [
            ("PostgreSQL database for the API", "postgres:15-alpine"),
            ("Redis cache", "redis:7-alpine"),
            ("Nginx reverse proxy in front of the API", "nginx:alpine"),
            ("A MongoDB instance to store events", "mongo:7"),
        ] {
            let out = complete(&input(
                "svc",
                json!({"description": description}),
                &["image"],
            ));
            assert_eq!(
                values(&out),
                [("image".into(), json!(image))],
                "{description}"
            );
        }
    }

    #[test]
    fn a_readiness_check_uses_a_tool_the_image_version_has() {
        let check = |image: &str| {
            let out = complete(&input("db", json!({"image": image}), &["healthcheck"]));
            values(&out)[0].1["test"][1].clone()
        };
        assert_eq!(check("mongo:4.2"), json!("mongo"));
        assert_eq!(check("mongo:5.0.3"), json!("mongo"));
        assert_eq!(check("mongo:7"), json!("mongosh"));
        assert_eq!(check("mongo"), json!("mongosh"));
        assert_eq!(check("mariadb:10.3"), json!("mysqladmin"));
        assert_eq!(check("mariadb:10.11"), json!("healthcheck.sh"));
        assert_eq!(tag_version("mariadb:10-focal"), Some((10, 0)));
        assert_eq!(tag_version("registry:5000/mongo"), None);
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
