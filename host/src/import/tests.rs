//! The importer on whole Compose files, in memory: what each key becomes,
//! what is listed as not translated, and every refusal with its place.

use std::path::Path;

use super::*;

/// Env files in memory, by their paths below `/work/app`.
struct Files(Vec<(String, String)>);

impl read::EnvFiles for Files {
    fn read(&self, path: &str) -> Result<String, read::ReadError> {
        let full = read::normalise(&Path::new("/work/app").join(path));
        self.0
            .iter()
            .find(|(name, _)| Path::new(name) == full)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| {
                read::ReadError::NotFound(std::io::Error::from(std::io::ErrorKind::NotFound))
            })
    }
}

/// Imports `text` as `/work/app/docker-compose.yml` for a main.star in
/// `/work/app`, with `files` (paths relative to `/work/app`) readable.
fn import_at(text: &str, files: &[(&str, &str)], project: &str) -> Result<Imported, ImportError> {
    let files = Files(
        files
            .iter()
            .map(|(p, t)| (format!("/work/app/{p}"), (*t).to_string()))
            .collect(),
    );
    import(&Input {
        file: "docker-compose.yml",
        text,
        compose_dir: Path::new("/work/app"),
        project_dir: Path::new(project),
        env_files: &files,
    })
}

fn ok(text: &str, files: &[(&str, &str)]) -> Imported {
    import_at(text, files, "/work/app").unwrap_or_else(|e| {
        panic!(
            "{e}: {:?}",
            e.problems()
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
        )
    })
}

/// The problems: place, message, help.
fn refused(text: &str) -> Vec<(String, String, String)> {
    match import_at(text, &[], "/work/app") {
        Ok(out) => panic!("imported:\n{}", out.starlark),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| {
                (
                    p.place(),
                    p.message.clone(),
                    p.help.clone().unwrap_or_default(),
                )
            })
            .collect(),
    }
}

fn listed(out: &Imported) -> Vec<String> {
    out.items.iter().map(Item::message).collect()
}

#[test]
fn every_translated_key_becomes_its_field() {
    let out = ok(
        r#"
services:
  my-api:
    image: "example/api:${TAG:-1.2}"
    container_name: api
    ports: ["8000:8000", 9090, {target: 53, published: "5353", protocol: udp}]
    environment:
      LOG_LEVEL: debug
      WORKERS: 4
      FEATURE: "on"
      TOKEN: ${API_TOKEN:?set API_TOKEN}
      PASSTHROUGH:
    volumes:
      - ./data:/data
      - cache:/cache:ro
      - type: volume
        source: cache
        target: /more
    networks:
      backend:
        aliases: [api-internal]
    command: uvicorn main:app --host 0.0.0.0 --port "8000"
    restart: "no"
    healthcheck:
      test: curl -fsS http://localhost:8000/health
      interval: 1m30s
      timeout: 500ms
  db:
    image: postgres:15-alpine
networks:
  backend:
volumes:
  cache:
"#,
        &[],
    );
    let star = &out.starlark;
    for expected in [
        "my_api = DockerResource(\n    name = \"api\",\n",
        "image = \"example/api:\" + env(\"TAG\", \"1.2\"),",
        "ports = [\"8000:8000\", \"9090\", \"5353:53/udp\"],",
        "\"WORKERS\": \"4\",",
        "\"TOKEN\": env(\"API_TOKEN\"),",
        "\"PASSTHROUGH\": env(\"PASSTHROUGH\", \"\"),",
        "volumes = [\"./data:/data\", \"cache:/cache:ro\", \"cache:/more\"],",
        "networks = [\"backend\"],",
        "aliases = [\"my-api\", \"api-internal\"],",
        "command = [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"],",
        "restart_policy = \"no\",",
        "\"test\": [\"CMD-SHELL\", \"curl -fsS http://localhost:8000/health\"],",
        "\"interval_seconds\": 90,",
        "\"timeout_seconds\": 0.5,",
        "\"retries\": 3,",
        "# Compose service `my-api` (container_name `api`).",
    ] {
        assert!(star.contains(expected), "no `{expected}` in\n{star}");
    }
    assert_eq!(
        listed(&out),
        [
            "`my-api`: `ports`: review: `8000:8000`, `9090` and `5353:53/udp` are published on every network address of this machine, so other machines can reach them (as under Compose); give the host address `127.0.0.1` to keep a port to this machine, e.g. `127.0.0.1:8080:80`",
            "`my-api`: `environment.PASSTHROUGH`: note: passed through from the environment: unset, it is empty here, where Compose leaves it out"
        ]
    );
    assert!(star.find("my_api =") < star.find("db ="));
}

fn star_input_again() -> String {
    "services:\n  b:\n    image: busybox\n  a:\n    image: busybox\n    depends_on: [b]\n".into()
}

#[test]
fn the_output_keeps_the_files_order_and_is_the_same_each_time() {
    let first = ok(&star_input_again(), &[]).starlark;
    assert_eq!(first, ok(&star_input_again(), &[]).starlark);
    assert!(first.find("b = DockerResource").unwrap() < first.find("a = DockerResource").unwrap());
    assert!(
        first.ends_with("a.connect(DependencyConnection(to_resource = b))\n"),
        "{first}"
    );
}

#[test]
fn what_clockwork_cannot_say_is_listed_at_its_service_and_returned() {
    let out = ok(
        r#"
name: shop
services:
  web:
    build:
      context: ./web
    profiles: [debug]
    labels: {a: b}
    entrypoint: ["/entry.sh"]
    secrets: [token]
    deploy: {replicas: 2}
    user: "1000"
    x-note: ignored
    volumes:
      - /srv/static:/static:ro,z
      - ~/cache:/cache
      - /anonymous
      - type: tmpfs
        target: /tmp
    restart: on-failure:5
secrets:
  token:
    file: ./token.txt
"#,
        &[],
    );
    assert_eq!(
        listed(&out),
        [
            "`name`: note: the project name (`shop`) is not translated: Clockwork names the project after its folder and each container after its declaration",
            "`secrets`: not translated (Clockwork has no `secrets` (`token`): mount each file read-only where the services read it)",
            "`web`: `build`: not translated (Clockwork runs images: build it from `./web` first)",
            "`web`: `profiles`: not translated (Clockwork starts every declaration: delete this one to leave it out)",
            "`web`: `secrets`: not translated (mount the secret's file instead: `\"./secret.txt:/run/secrets/NAME:ro\"` in `volumes`)",
            "`web`: `deploy`: not translated (replicas, resources and placement are Swarm's; Clockwork runs one container per declaration)",
            "`web`: `user`: not translated (DockerResource has no `user`: the image's own user runs the command)",
            "`web`: `volumes[0]`: not translated (the mount option `z`: DockerResource mounts are read-write or `ro`)",
            "`web`: `volumes[0]`: review: `/srv/static` is outside the project folder: mounting it gives the container read access to `/srv/static` on this machine, which the Compose file cannot grant by itself; main.star has the mount commented out: uncomment it if you trust it",
            "`web`: `volumes[1]`: not translated (Clockwork does not expand `~`: write the absolute path)",
            "`web`: `volumes[2]`: note: an anonymous volume: it is the named volume `web-anonymous` here, kept until `clockwork destroy`",
            "`web`: `volumes[3]`: not translated (a `tmpfs` mount: DockerResource mounts host paths and named volumes)",
            "`web`: `restart`: note: `on-failure:5` is `on-failure` without the retry limit, which DockerResource cannot set",
            "`web`: `build`: note: `image` is set to `shop-web`, the tag Compose gives the image it builds: build it first (`docker build -t shop-web ./web`)",
        ]
    );
    let star = &out.starlark;
    assert!(star.contains("image = \"shop-web\","), "{star}");
    assert!(
        star.contains("labels = {\n        \"a\": \"b\",\n    },"),
        "{star}"
    );
    assert!(star.contains("entrypoint = [\"/entry.sh\"],"), "{star}");
    assert!(
        star.contains("    volumes = [\n        # \"/srv/static:/static:ro\",  # REVIEW: see above\n        \"web-anonymous:/anonymous\",\n    ],"),
        "{star}"
    );
    assert!(
        star.contains("#   not translated: profiles (line 7): Clockwork starts every declaration"),
        "{star}"
    );
    assert!(
        star.contains("#   not translated: secrets (line 21): Clockwork has no `secrets`"),
        "{star}"
    );
    let lines: Vec<usize> = out.items.iter().filter_map(|i| i.line).collect();
    assert_eq!(lines[..4], [2, 21, 5, 7]);
}

#[test]
fn a_postgres_url_becomes_a_database_connection_only_where_it_would_be_built_the_same() {
    let out = ok(
        r#"
services:
  db:
    image: postgres:15-alpine
    ports: ["5433:5432"]
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: ${DB_PASSWORD:-dev}
  api:
    image: example/api
    environment:
      DATABASE_URL: postgresql://app:${DB_PASSWORD:-dev}@db:5432/app
      REPORTS_DB_URL: postgres://reader:reader@db:5432/postgres
      WRONG_PORT_URL: postgresql://app:x@db:6543/app
      OTHER_HOST_URL: postgresql://app:x@elsewhere:5432/app
    depends_on: [db]
"#,
        &[],
    );
    let star = &out.starlark;
    assert!(
        star.contains("api.connect(DatabaseConnection(to_resource = db, database_name = \"app\"))"),
        "{star}"
    );
    assert!(
        star.contains(
            "api.connect(DatabaseConnection(\n    to_resource = db,\n    username = \"reader\",\n    password = \"reader\",\n    env_var_name = \"REPORTS_DB_URL\",\n    connection_string_template = \"postgres://{user}:{password}@{host}:{port}/{database}\",\n))"
        ),
        "{star}"
    );
    assert!(
        star.contains("\"WRONG_PORT_URL\": \"postgresql://app:x@db:6543/app\","),
        "{star}"
    );
    assert!(
        star.contains("\"OTHER_HOST_URL\": \"postgresql://app:x@elsewhere:5432/app\","),
        "{star}"
    );
    assert!(
        star.contains("# DATABASE_URL: set by the DatabaseConnection below"),
        "{star}"
    );
    // The dependency is the connection: no second, plain one.
    assert!(!star.contains("api.connect(db)"), "{star}");

    // A database that depends on the application would close a cycle.
    let out = ok(
        "services:\n  db:\n    image: postgres\n    depends_on: [api]\n  api:\n    image: x\n    environment: [\"DATABASE_URL=postgresql://postgres:postgres@db:5432/postgres\"]\n",
        &[],
    );
    assert!(
        !out.starlark.contains("DatabaseConnection("),
        "{}",
        out.starlark
    );
}

#[test]
fn env_files_are_inlined_or_left_in_dotenv() {
    let out = ok(
        "services:\n  app:\n    image: x\n    env_file: [.env, ./conf/app.env, {path: ./missing.env, required: false}]\n    environment:\n      MODE: prod\n",
        &[
            (".env", "SECRET_KEY=abc\nMODE=dev\n"),
            ("conf/app.env", "# c\nAPI_PASSWORD='p w'\nPORT=80\n"),
        ],
    );
    let star = &out.starlark;
    assert!(
        star.contains(
            "        # from .env, which Clockwork reads too\n        \"SECRET_KEY\": env(\"SECRET_KEY\"),\n        # from ./conf/app.env (copied: edit them here now; its secrets are not: env() reads them)\n        \"API_PASSWORD\": env(\"API_PASSWORD\"),\n        \"PORT\": \"80\",\n        # from `environment`\n        \"MODE\": \"prod\",\n"
        ),
        "{star}"
    );
    assert!(!star.contains("p w"), "{star}");
    assert_eq!(
        listed(&out),
        [
            "`app`: `env_file[1]`: note: `API_PASSWORD` of `./conf/app.env` is a secret, not copied into main.star: it reads it with `env()`, from .env or the environment"
        ]
    );
    assert_eq!(
        out.secrets,
        [SecretToSet {
            reference: "API_PASSWORD".into(),
            name: "API_PASSWORD".into(),
            file: "./conf/app.env".into(),
            services: vec!["app".into()],
        }]
    );
}

#[test]
fn env_file_values_are_interpolated_as_compose_v2_does() {
    let out = ok(
        "services:\n  app:\n    image: x\n    env_file: ./app.env\n",
        &[(
            "app.env",
            "USER=app\nURL=postgres://${USER}@${DB_HOST:-db}/x\nRAW='${USER}'\nQUOTED=\"$USER-${MISSING:+on}\"\n",
        )],
    );
    let star = &out.starlark;
    assert!(
        star.contains(
            "        \"USER\": \"app\",\n        \"URL\": \"postgres://app@\" + env(\"DB_HOST\", \"db\") + \"/x\",\n        \"RAW\": \"${USER}\",\n        \"QUOTED\": \"app-\" + (\"on\" if env(\"MISSING\", \"\") else \"\"),\n"
        ),
        "{star}"
    );
    // In file order, across the service's files; a key set twice is read
    // as it stood; a variable set to another variable alone takes the
    // fallback onto it.
    let out = ok(
        "services:\n  app:\n    image: x\n    env_file: [./a.env, ./b.env]\n",
        &[
            ("a.env", "A=1\nB=${A}\nA=2\nC=x\nC=${C}y\nX=${OUTER}\n"),
            ("b.env", "D=${A}\nE=${X:-d}\nF=${X:+on}\n"),
        ],
    );
    let star = &out.starlark;
    for line in [
        "\"A\": \"2\",",
        "\"B\": \"1\",",
        "\"C\": \"xy\",",
        "\"D\": \"2\",",
        "\"E\": env(\"OUTER\", \"d\"),",
        "\"F\": (\"on\" if env(\"OUTER\", \"\") else \"\"),",
    ] {
        assert!(star.contains(line), "{line} in\n{star}");
    }
    assert_eq!(
        refused("services:\n  app:\n    image: x\n    env_file: ./app.env\n"),
        [(
            "docker-compose.yml:4:5".to_string(),
            "cannot read the env file `./app.env` (/work/app/app.env): entity not found"
                .to_string(),
            "Compose reads it relative to the Compose file's folder; create it or remove the entry"
                .to_string()
        )]
    );
}

#[test]
fn the_compose_file_cannot_write_code_into_main_star() {
    // A line break in a quoted name or value, shown in a comment, would
    // otherwise begin a line of Starlark.
    let out = ok(
        "name: \"demo\\nprint(1)\"\nservices:\n  web:\n    image: x\n    build: \"./w\\nfail()\"\n    labels: {\"dev.clockwork.x\\nboom()\": y}\n",
        &[],
    );
    let code: Vec<&str> = out
        .starlark
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        code.iter()
            .all(|l| !l.contains("print(") && !l.contains("fail(") && !l.contains("boom(")),
        "{}",
        out.starlark
    );
    assert!(
        out.starlark.contains("(`demo print(1)`)"),
        "{}",
        out.starlark
    );
    assert!(out.items.iter().all(|i| !i.message().contains('\n')));
}

#[test]
fn mixed_forms_merges_and_long_volumes_are_read_as_compose_does() {
    assert_eq!(
        refused("services:\n  web:\n    image: x\n    depends_on: [{db: {condition: service_healthy}}]\n  db:\n    image: y\n")
            .into_iter()
            .map(|(place, message, _)| format!("{place}: {message}"))
            .collect::<Vec<_>>(),
        ["docker-compose.yml:4:5: `services.web.depends_on[0]` must be a name; found a mapping"]
    );
    let merge = refused("x: &d 1\nservices:\n  web:\n    <<: *d\n    image: x\n");
    assert_eq!(merge[0].0, "docker-compose.yml:4:5", "{merge:?}");
    assert!(
        merge[0].1.contains("a `<<` merge cannot be applied"),
        "{merge:?}"
    );
    let out = ok(
        "services:\n  web:\n    image: x\n    volumes:\n      - {type: bind, source: data, target: /data}\n",
        &[],
    );
    assert!(
        out.starlark.contains("volumes = [\"./data:/data\"],"),
        "{}",
        out.starlark
    );
    assert_eq!(
        refused("services:\n  web:\n    image: x\n    volumes:\n      - {type: volume, source: ./x, target: /x}\n")[0].1,
        "`./x` is a path, but the mount's `type` is `volume`"
    );
    // A source chosen by a variable stays as written.
    let out = ok(
        "services:\n  web:\n    image: x\n    volumes:\n      - {type: bind, source: \"${DATA:-./data}\", target: /data, read_only: true}\n",
        &[],
    );
    assert!(
        out.starlark
            .contains("volumes = [env(\"DATA\", \"./data\") + \":/data:ro\"],"),
        "{}",
        out.starlark
    );
    // A merge written inline has no line of its own to point at.
    let merge = refused("x: &d 1\nservices:\n  web: {<<: *d, image: x}\n");
    assert!(
        merge[0]
            .1
            .starts_with("`docker-compose.yml`: a `<<` merge cannot be applied: "),
        "{merge:?}"
    );
}

#[test]
fn depends_on_conditions_are_said() {
    let out = ok(
        r#"
services:
  migrate: {image: x, command: ["migrate"]}
  cache: {image: redis}
  app:
    image: x
    depends_on:
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_healthy}
"#,
        &[],
    );
    let star = &out.starlark;
    assert!(star.contains("    must_run = False,\n"), "{star}");
    assert!(
        star.contains("# service_healthy: `cache` has no health check in the Compose file"),
        "{star}"
    );
    assert!(
        star.contains("app.connect(DependencyConnection(to_resource = migrate))\n"),
        "{star}"
    );
    assert!(
        star.contains("app.connect(DependencyConnection(to_resource = cache))\n"),
        "{star}"
    );
}

#[test]
fn paths_are_rebased_on_the_folder_of_main_star() {
    let text = "services:\n  web:\n    image: nginx\n    volumes: [\"./site:/site\", \"../shared:/shared\"]\n";
    let out = import_at(text, &[], "/work").unwrap();
    assert!(
        out.starlark
            .contains("\"./app/site:/site\", \"./shared:/shared\""),
        "{}",
        out.starlark
    );
    let out = import_at(text, &[], "/work/app/deploy").unwrap();
    assert!(
        out.starlark.contains("\"/work/app/site:/site\""),
        "{}",
        out.starlark
    );
    assert_eq!(out.items.len(), 2, "{:?}", listed(&out));
}

#[test]
fn bad_files_are_refused_at_their_place() {
    assert_eq!(
        refused("services:\n  web:\n    image: [unclosed\n"),
        [(
            "docker-compose.yml:4:1".to_string(),
            "docker-compose.yml is not YAML: did not find expected ',' or ']', while parsing a flow sequence at line 3 column 12".to_string(),
            "a Compose file is a YAML mapping with `services:` at the top".to_string()
        )]
    );
    assert_eq!(
        refused("- web\n- db\n")[0].1,
        "docker-compose.yml is not a Compose file: it is a list, not a mapping"
    );
    assert_eq!(
        refused("version: '3'\n")[0].1,
        "docker-compose.yml is not a Compose file: it has no `services`"
    );
    assert_eq!(
        refused("servics:\n  web: {image: x}\nservices: {}\n"),
        [(
            "docker-compose.yml:1:1".to_string(),
            "`servics` is not a top-level key of a Compose file".to_string(),
            "did you mean `services`?".to_string()
        )]
    );
    assert_eq!(
        refused(
            "services:\n  web:\n    image: x\n    enviroment: {A: 1}\n    depends_on: [dbb]\n    volumes: [data:/data]\n    networks: [back]\n  db:\n    ports: oops\n"
        ),
        [
            (
                "docker-compose.yml:4:5".to_string(),
                "`enviroment` is not a key of a Compose service (in `web`)".to_string(),
                "did you mean `environment`?".to_string()
            ),
            (
                "docker-compose.yml:5:5".to_string(),
                "`web` depends on `dbb`, which is not a service of the file".to_string(),
                "did you mean `db`?".to_string()
            ),
            (
                "docker-compose.yml:6:5".to_string(),
                "the named volume `data` of `web` is not declared under the top-level `volumes`".to_string(),
                "declare it under the top-level `volumes:` (`volumes: {data: {}}`), or write `./data` for a folder".to_string()
            ),
            (
                "docker-compose.yml:7:5".to_string(),
                "the network `back` of `web` is not declared under the top-level `networks`".to_string(),
                "declare it under the top-level `networks:` (`networks: {back: {}}`)".to_string()
            ),
            (
                "docker-compose.yml:8:3".to_string(),
                "service `db` has neither `image` nor `build`".to_string(),
                "give the image it runs, e.g. `image: nginx:alpine`".to_string()
            ),
            (
                "docker-compose.yml:9:5".to_string(),
                "`services.db.ports` must be a list; found a string".to_string(),
                "for example `ports: [\"8080:80\"]`".to_string()
            ),
        ]
    );
    assert_eq!(
        refused(
            "services:\n  web:\n    image: x\n    environment:\n      A: ${B\n    restart: sometimes\n    healthcheck: {test: [true], interval: soon}\n"
        )
        .into_iter()
        .map(|(place, message, _)| format!("{place}: {message}"))
        .collect::<Vec<_>>(),
        [
            "docker-compose.yml:5:7: `services.web.environment.A`: `${B` has no closing `}`",
            "docker-compose.yml:6:5: `sometimes` is not a restart policy",
            "docker-compose.yml:7:5: `services.web.healthcheck.test` must start with `CMD`, `CMD-SHELL` or `NONE`",
        ]
    );
}

#[test]
fn labels_and_entrypoints_are_translated_in_either_form() {
    let out = ok(
        r#"
services:
  web:
    image: nginx:alpine
    entrypoint: /docker-entrypoint.sh --debug "two words"
    labels:
      com.example.role: frontend
      com.example.port: 8080
      com.example.empty:
      com.example.owner: ${OWNER:-ops}
      dev.clockwork.project: other
  worker:
    image: busybox:latest
    entrypoint: ["sh", "-c"]
    command: ["echo hi"]
    labels:
      - "com.example.role=worker"
      - com.example.flag
      - com.example.role=queue
      - dev.clockwork.project-id=0123
  bare:
    image: busybox:latest
    entrypoint: []
    label_file: ./labels
"#,
        &[],
    );
    assert_eq!(
        listed(&out),
        [
            "`web`: `labels.dev.clockwork.project`: not translated (`dev.clockwork.` labels are Clockwork's own: they say which project owns a container, and Clockwork sets them itself; give `dev.clockwork.project` another name)",
            "`worker`: `labels[3]`: not translated (`dev.clockwork.` labels are Clockwork's own: they say which project owns a container, and Clockwork sets them itself; give `dev.clockwork.project-id` another name)",
            "`bare`: `label_file`: not translated (the file's labels are not read: copy them into `labels`)",
        ]
    );
    let star = &out.starlark;
    for line in [
        "entrypoint = [\"/docker-entrypoint.sh\", \"--debug\", \"two words\"],",
        "\"com.example.role\": \"frontend\",",
        "\"com.example.port\": \"8080\",",
        "\"com.example.empty\": \"\",",
        "\"com.example.owner\": env(\"OWNER\", \"ops\"),",
        "entrypoint = [\"sh\", \"-c\"],",
        "labels = {\n        \"com.example.flag\": \"\",\n        \"com.example.role\": \"queue\",\n    },",
        "entrypoint = [],",
    ] {
        assert!(star.contains(line), "no `{line}` in:\n{star}");
    }
    assert!(!star.contains("\"dev.clockwork."), "{star}");
    assert_eq!(
        refused("services:\n  web:\n    image: x\n    labels: 3\n    entrypoint: {a: b}\n")
            .into_iter()
            .map(|(_, message, _)| message)
            .collect::<Vec<_>>(),
        [
            "`services.web.labels` must be a mapping or a list; found a number",
            "`services.web.entrypoint` must be a string or a list; found a mapping",
        ]
    );
}

#[test]
fn an_interpolation_error_in_a_secret_does_not_quote_it() {
    let compose = "services:\n  db:\n    image: x\n    environment:\n      DB_PASSWORD: \"top${tail-one\"\n      URL: \"postgres://u:pw${tail-two@db/x\"\n      LEVEL: \"a${tail-three\"\n  app:\n    image: x\n    environment: [\"API_TOKEN=t${tail-four\"]\n    env_file: ./db.env\n";
    let err = import_at(
        compose,
        &[("db.env", "SECRET_KEY=s${tail-five\n")],
        "/work/app",
    )
    .expect_err("refused");
    let messages: Vec<String> = err.problems().iter().map(|p| p.message.clone()).collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    for tail in ["tail-one", "tail-two", "tail-four", "tail-five"] {
        assert!(
            messages.iter().all(|m| !m.contains(tail)),
            "{tail}: {messages:?}"
        );
    }
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("a secret (so not quoted here)"))
            .count()
            == 4,
        "{messages:?}"
    );
    // A value that is not a secret is quoted, to show what is wrong.
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`${tail-three` has no closing")),
        "{messages:?}"
    );
}

/// Every message import prints for a file full of keys and names that look
/// secret, as the output's masking leaves it.
fn printed(out: &Imported) -> Vec<String> {
    let masker = crate::output::Masker::new(&[], true);
    out.items
        .iter()
        .map(|i| masker.scrub(&i.message()))
        .collect()
}

#[test]
fn clockworks_own_words_names_and_keys_are_never_masked() {
    // Issue 25: `secrets: *** translated`. A key or a service whose name
    // looks secret read, to the masking, as `name: value`, and the word
    // after it was masked.
    let out = ok(
        r#"
secrets:
  api_token: {file: ./token.txt}
services:
  token:
    image: x
    build: ./t
    secrets: [api_token]
    restart: on-failure:2
    environment:
      PASSWORD_HINT:
  auth-proxy:
    image: y
    pid: host
    labels: {secret.role: proxy, dev.clockwork.project: other}
    volumes: ["/anonymous", "${HOME}/.ssh:/root/.ssh"]
"#,
        &[],
    );
    let masker = crate::output::Masker::new(&[], true);
    for (item, shown) in out.items.iter().zip(printed(&out)) {
        assert_eq!(shown, item.message(), "masked a word of Clockwork's own");
        assert!(!shown.contains("***"), "{shown}");
    }
    assert!(
        printed(&out).contains(&"`secrets`: not translated (Clockwork has no `secrets` (`api_token`): mount each file read-only where the services read it)".to_string()),
        "{:?}",
        printed(&out)
    );
    // The same key without names: its reason said `secrets: mount`.
    let out = ok("secrets:\nservices:\n  web: {image: x}\n", &[]);
    for (item, shown) in out.items.iter().zip(printed(&out)) {
        assert_eq!(shown, item.message());
    }
    // What is a secret is still masked where it is quoted.
    assert_eq!(
        masker.scrub("`web`: `labels`: note: API_TOKEN=abc and redis://u:pw@cache"),
        "`web`: `labels`: note: API_TOKEN=*** and redis://u:***@cache"
    );
}

#[test]
fn secrets_of_env_files_become_env_references_and_nothing_else_does() {
    let out = ok(
        "services:\n  api:\n    image: x\n    env_file: ./api.env\n",
        &[(
            "api.env",
            "API_TOKEN=tok-123-secret\nCACHE_URL=redis://u:pw-456@cache:6379/0\nREPORT=http://h/x?password=q-789&a=1\nPLAIN=hello\nBUILT=${API_TOKEN}-suffix\nLINK=${PLAIN}/x\nEMPTY_TOKEN=${ELSEWHERE}\n",
        )],
    );
    let star = &out.starlark;
    for line in [
        "\"API_TOKEN\": env(\"API_TOKEN\"),",
        "\"CACHE_URL\": env(\"CACHE_URL\"),",
        "\"REPORT\": env(\"REPORT\"),",
        "\"PLAIN\": \"hello\",",
        // Built from a secret, so one too.
        "\"BUILT\": env(\"BUILT\"),",
        "\"LINK\": \"hello/x\",",
        // Only a reference to the environment: nothing to keep out.
        "\"EMPTY_TOKEN\": env(\"ELSEWHERE\", \"\"),",
    ] {
        assert!(star.contains(line), "no `{line}` in\n{star}");
    }
    let said: String = listed(&out).join("\n");
    for value in ["tok-123", "pw-456", "q-789"] {
        assert!(!star.contains(value), "{value} in\n{star}");
        assert!(!said.contains(value), "{value} in\n{said}");
    }
    assert_eq!(
        out.secrets
            .iter()
            .map(|s| s.reference.as_str())
            .collect::<Vec<_>>(),
        ["API_TOKEN", "CACHE_URL", "REPORT", "BUILT"]
    );
    assert!(
        star.contains("so set `API_TOKEN` (from ./api.env)"),
        "{star}"
    );
}

#[test]
fn one_secret_name_with_two_values_is_read_under_two_names() {
    let out = ok(
        "services:\n  a:\n    image: x\n    env_file: ./a.env\n  b-2:\n    image: x\n    env_file: ./b.env\n  c:\n    image: x\n    env_file: [./a.env, .env]\n",
        &[
            ("a.env", "DB_PASSWORD=first\n"),
            ("b.env", "DB_PASSWORD=second\n"),
            (".env", "SAME_PASSWORD=x\n"),
        ],
    );
    let star = &out.starlark;
    assert_eq!(
        star.matches("\"DB_PASSWORD\": env(\"DB_PASSWORD\"),")
            .count(),
        2,
        "{star}"
    );
    assert!(
        star.contains("\"DB_PASSWORD\": env(\"B_2_DB_PASSWORD\"),"),
        "{star}"
    );
    assert_eq!(
        out.secrets,
        [
            SecretToSet {
                reference: "DB_PASSWORD".into(),
                name: "DB_PASSWORD".into(),
                file: "./a.env".into(),
                services: vec!["a".into(), "c".into()],
            },
            SecretToSet {
                reference: "B_2_DB_PASSWORD".into(),
                name: "DB_PASSWORD".into(),
                file: "./b.env".into(),
                services: vec!["b-2".into()],
            },
        ]
    );
    assert!(
        listed(&out).iter().any(|m| m.contains(
            "`DB_PASSWORD` (as `B_2_DB_PASSWORD`, since another env file gives `DB_PASSWORD` another value)"
        )),
        "{:?}",
        listed(&out)
    );
    // A secret `.env` holds with the same value is read there: nothing to set.
    let out = ok(
        "services:\n  a:\n    image: x\n    env_file: [.env, ./a.env]\n",
        &[
            (".env", "DB_PASSWORD=same\n"),
            ("a.env", "DB_PASSWORD=same\n"),
        ],
    );
    assert!(out.secrets.is_empty(), "{:?}", out.secrets);
    assert!(!out.starlark.contains("same"), "{}", out.starlark);
}

#[test]
fn mounts_outside_the_project_are_held_for_the_user_to_turn_on() {
    let out = ok(
        r#"
services:
  web:
    image: nginx
    ports: ["127.0.0.1:8080:80", "${PORT:-9090}:90"]
    volumes:
      - ./site:/site
      - /var/run/docker.sock:/var/run/docker.sock
      - /etc:/host-etc:ro
      - ${HOME}/.ssh:/root/.ssh
      - ${DATA:-./data}:/data
      - ${CACHE:-cache}:/cache
      - {type: bind, source: "${ROOT:-/}", target: /root-fs}
volumes:
  cache:
"#,
        &[],
    );
    let star = &out.starlark;
    assert!(
        star.contains(
            "    volumes = [\n        \"./site:/site\",\n        # \"/var/run/docker.sock:/var/run/docker.sock\",  # REVIEW: see above\n        # \"/etc:/host-etc:ro\",  # REVIEW: see above\n        # env(\"HOME\", \"\") + \"/.ssh:/root/.ssh\",  # REVIEW: see above\n        env(\"DATA\", \"./data\") + \":/data\",\n        env(\"CACHE\", \"cache\") + \":/cache\",\n        # env(\"ROOT\", \"/\") + \":/root-fs\",  # REVIEW: see above\n    ],"
        ),
        "{star}"
    );
    let reviews: Vec<String> = listed(&out)
        .into_iter()
        .filter(|m| m.contains(": review: "))
        .collect();
    assert_eq!(reviews.len(), 5, "{reviews:?}");
    assert!(
        reviews[0].starts_with(
            "`web`: `ports`: review: `${PORT:-9090}:90` is published on every network address"
        ),
        "{reviews:?}"
    );
    assert!(
        reviews[1].contains(
            "gives the container read and write access to `/var/run/docker.sock` on this machine"
        ),
        "{reviews:?}"
    );
    assert!(reviews[2].contains("read access to `/etc`"), "{reviews:?}");
    assert!(
        star.contains("#   REVIEW: volumes[1] (line 8): `/var/run/docker.sock`"),
        "{star}"
    );
    assert!(
        star.contains("# REVIEW before `clockwork apply`: 5 setting(s) of the Compose file"),
        "{star}"
    );
}

#[test]
fn a_volume_or_network_named_like_a_path_is_refused() {
    let problems = refused(
        "services:\n  web:\n    image: x\n    volumes: [\"data:/data\"]\n    networks: [back]\nvolumes:\n  data:\n    name: /etc\nnetworks:\n  back:\n    name: \"../x\"\n",
    );
    let messages: Vec<&str> = problems.iter().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`/etc` is not a volume name Docker accepts (letters, digits, `_`, `.` and `-`, starting with a letter or digit): with a `/`, it would be a path on this machine here",
            "`../x` is not a network name Docker accepts (letters, digits, `_`, `.` and `-`, starting with a letter or digit): with a `/`, it would be a path on this machine here",
        ]
    );
}

#[test]
fn a_flood_of_problems_is_cut_short() {
    let services: String = (0..300)
        .map(|i| format!("  s{i}:\n    image: x\n    depends_on: [missing{i}]\n"))
        .collect();
    let problems = refused(&format!("services:\n{services}"));
    assert_eq!(problems.len(), MAX_SHOWN + 1);
    assert_eq!(
        problems.last().map(|(_, m, _)| m.as_str()),
        Some("and 100 more problem(s) in docker-compose.yml, not shown: 200 are shown at most")
    );
}

const MAX_SHOWN: usize = 200;

#[test]
fn env_files_read_at_many_services_are_bounded_in_all() {
    // A 1 MiB env file named by 70 services would copy 70 MiB into main.star.
    let big = format!("# {}\n", "x".repeat(1024 * 1024 - 3));
    let services: String = (0..70)
        .map(|i| format!("  s{i}:\n    image: x\n    env_file: ./big.env\n"))
        .collect();
    let err = import_at(
        &format!("services:\n{services}"),
        &[("big.env", &big)],
        "/work/app",
    )
    .expect_err("refused");
    let messages: Vec<String> = err.problems().iter().map(|p| p.message.clone()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("the env files of the services add up to more than 64 MiB"),
        "{messages:?}"
    );
}

/// A Compose file of `count` services, each with what makes import look
/// things up by name: a port, variables, a mount, a dependency on the next
/// service, a key that is not translated (an item, located in the file).
fn many_services(count: usize) -> String {
    let mut text = String::from("services:\n");
    for i in 0..count {
        let next = (i + 1) % count;
        text.push_str(&format!(
            "  svc-{i}:\n    image: busybox\n    ports: [\"127.0.0.1:{}:80\"]\n    environment: {{LEVEL: info, PEER: svc-{next}}}\n    volumes: [\"./data/{i}:/data\"]\n    depends_on: [svc-{next}]\n    logging: {{driver: json-file}}\n",
            20000 + i % 40000
        ));
    }
    text
}

/// The CPU time this thread has used: what other processes on a busy
/// machine take does not count (wall time where Linux's per-thread figure
/// is not there).
fn cpu_time() -> std::time::Duration {
    let from_proc = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
    match from_proc {
        Some(ns) => std::time::Duration::from_nanos(ns),
        None => {
            static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
            START.get_or_init(std::time::Instant::now).elapsed()
        }
    }
}

/// The least CPU time of three imports of `count` services.
fn import_time(count: usize) -> std::time::Duration {
    let text = many_services(count);
    (0..3)
        .map(|_| {
            let start = cpu_time();
            let out = ok(&text, &[]);
            let spent = cpu_time() - start;
            assert_eq!(out.items.len(), count);
            spent
        })
        .min()
        .expect("three runs")
}

#[test]
fn import_work_grows_linearly_with_the_services() {
    // Issue 25: 8,000 services took 9.9 s and 32,000 did not end in 45 s.
    // Four times the services must take about four times the work, not
    // sixteen: the bound leaves twice the linear figure for noise and
    // caches. Measured in CPU time of this thread, the least of three
    // runs, so that a busy machine does not fail it. The speed itself is
    // scripts/bench-import.sh's to measure.
    let small = import_time(1_500);
    let large = import_time(6_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    assert!(
        ratio < 8.0,
        "1,500 services took {small:?}, 6,000 took {large:?}: {ratio:.1} times as long"
    );
}

#[test]
fn problems_of_a_file_and_keys_that_look_secret_are_not_masked() {
    let masker = crate::output::Masker::new(&[], true);
    let files = Files(vec![(
        "/work/app/token.env".to_string(),
        "SECRET_KEY=\"a${b\"\nLEVEL=\"a${b\"\n".to_string(),
    )]);
    for text in [
        "x: &d 1\nservices:\n  token:\n    <<: *d\n    image: x\n",
        "services:\n  token:\n    image: x\n    secrets_file: y\n    depends_on: [api_key]\n    env_file: ./token.env\n    restart: sometimes\n    ports: [\"99999:1\"]\n    healthcheck: {test: [\"CMD\"], interval: soon}\n  api_key:\n    build: .\n    volumes: [\"password:/x\"]\n    networks: [auth]\n",
        "services:\n  token: 3\n",
        "- a list\n",
    ] {
        let err = import(&Input {
            file: "secrets.yml",
            text,
            compose_dir: Path::new("/work/app"),
            project_dir: Path::new("/work/app"),
            env_files: &files,
        })
        .expect_err("refused");
        for p in err.problems() {
            assert_eq!(masker.scrub(&p.message), p.message);
            let help = p.help.clone().unwrap_or_default();
            assert_eq!(masker.scrub(&help), help);
        }
    }
}

/// A file named as an env file that is none (a private key) is neither
/// copied into main.star nor quoted in what import says: its lines would
/// be variables' names, and each a line of output.
#[test]
fn a_key_named_as_an_env_file_is_neither_copied_nor_quoted() {
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
               b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
               QyNTUxOQAAACBxKeyMaterialNeverShown0123456789abcdefAAAAAAAAAA==\n\
               -----END OPENSSH PRIVATE KEY-----\n";
    let compose = "services:\n  web:\n    image: nginx:alpine\n    env_file: ./certs/dev.key\n";
    let outcome = import_at(compose, &[("certs/dev.key", key)], "/work/app");
    let said = match &outcome {
        Ok(imported) => format!(
            "{}\n{:?}",
            imported.starlark,
            imported.items.iter().map(|i| &i.reason).collect::<Vec<_>>()
        ),
        Err(e) => format!(
            "{e}\n{:?}",
            e.problems()
                .iter()
                .map(|p| (&p.message, &p.help))
                .collect::<Vec<_>>()
        ),
    };
    assert!(said.contains("is not an env file: its line 1"), "{said}");
    for line in key.lines() {
        assert!(!said.contains(line.trim()), "`{line}` is shown:\n{said}");
    }
    assert!(!said.contains("b3BlbnNzaC1r"), "{said}");
    // A hex key alone, or a base64 line ending in `=`, is no name either.
    for key in [
        "deadbeef0123456789abcdef0123456789abcdef0123456789abcdef01234567\n",
        "QyNTUxOQAAACBxKeyMaterial0123456789Ab=\n",
    ] {
        let outcome = import_at(compose, &[("certs/dev.key", key)], "/work/app");
        let said = match &outcome {
            Ok(imported) => imported.starlark.clone(),
            Err(e) => format!(
                "{e} {:?}",
                e.problems().iter().map(|p| &p.message).collect::<Vec<_>>()
            ),
        };
        assert!(said.contains("is not an env file"), "{said}");
        assert!(!said.contains(key.trim().trim_end_matches('=')), "{said}");
    }
    // An env file that starts with a byte-order mark, or has a long name,
    // is one.
    let env =
        "\u{feff}MODE=dev\nSPRING_SECURITY_OAUTH2_CLIENT_PROVIDER_KEYCLOAK_USER_NAME_ATTRIBUTE=x\n";
    let imported = ok(
        "services:\n  web:\n    image: nginx:alpine\n    env_file: ./app.env\n",
        &[("app.env", env)],
    );
    assert!(
        imported.starlark.contains("\"MODE\": \"dev\""),
        "{}",
        imported.starlark
    );
}
