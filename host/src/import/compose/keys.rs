//! The Compose keys `clockwork import` translates, those it cannot (and
//! why), and those it notes.

/// Service keys Clockwork cannot express, with what to do instead.
pub(super) const UNTRANSLATED: &[(&str, &str)] = &[
    ("build", "Clockwork runs images: build it and set `image`"),
    (
        "deploy",
        "replicas, resources and placement are Swarm's; Clockwork runs one container per declaration",
    ),
    (
        "profiles",
        "Clockwork starts every declaration: delete this one to leave it out",
    ),
    (
        "extends",
        "copy what it takes from the base service into this declaration",
    ),
    (
        "secrets",
        "mount the secret's file instead: `\"./secret.txt:/run/secrets/NAME:ro\"` in `volumes`",
    ),
    (
        "configs",
        "mount the config's file instead: `\"./app.conf:/app.conf:ro\"` in `volumes`",
    ),
    (
        "label_file",
        "the file's labels are not read: copy them into `labels`",
    ),
    (
        "expose",
        "not needed: containers reach each other on every port over the project network",
    ),
    (
        "links",
        "not needed: declarations reach each other by name over the project network",
    ),
    (
        "external_links",
        "not needed: declarations reach each other by name over the project network",
    ),
    (
        "privileged",
        "Clockwork's policy refuses privileged containers",
    ),
    (
        "network_mode",
        "Clockwork's policy refuses host namespaces; containers join the project network",
    ),
    ("pid", "Clockwork's policy refuses host namespaces"),
    ("ipc", "Clockwork's policy refuses host namespaces"),
    ("userns_mode", "Clockwork's policy refuses host namespaces"),
    ("uts", "Clockwork's policy refuses host namespaces"),
    (
        "volumes_from",
        "give the volumes to this declaration itself in `volumes`",
    ),
    (
        "scale",
        "Clockwork runs one container per declaration: declare another to run two",
    ),
    (
        "stop_grace_period",
        "Clockwork gives every container `[limits] stop_grace_seconds` (10 s) to stop",
    ),
    (
        "logging",
        "the Engine's default log driver is used; `clockwork logs` reads it",
    ),
    (
        "user",
        "DockerResource has no `user`: the image's own user runs the command",
    ),
    (
        "working_dir",
        "DockerResource has no `working_dir`: the image's own is used",
    ),
    (
        "hostname",
        "DockerResource has no `hostname`: other containers reach it by its name",
    ),
    (
        "cap_add",
        "Clockwork runs containers with Docker's default capabilities",
    ),
    (
        "cap_drop",
        "Clockwork runs containers with Docker's default capabilities",
    ),
    (
        "devices",
        "Clockwork's policy gives containers no host devices",
    ),
    (
        "tmpfs",
        "DockerResource mounts host paths and named volumes only",
    ),
    (
        "extra_hosts",
        "DockerResource has no `extra_hosts`: declarations reach each other by name",
    ),
    (
        "init",
        "DockerResource has no `init`: the command runs as PID 1",
    ),
    (
        "tty",
        "containers run detached; `clockwork exec` and `clockwork shell` give a terminal",
    ),
    (
        "stdin_open",
        "containers run detached; `clockwork exec` and `clockwork shell` give a terminal",
    ),
    ("mem_limit", "DockerResource sets no resource limits"),
    ("cpus", "DockerResource sets no resource limits"),
];

/// Service keys Compose knows that DockerResource has no field for.
pub(super) const OTHER_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "gpus",
    "group_add",
    "isolation",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "provider",
    "read_only",
    "runtime",
    "security_opt",
    "shm_size",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "ulimits",
    "use_api_socket",
];

/// Service keys translated into DockerResource fields or connections.
pub(super) const TRANSLATED: &[&str] = &[
    "image",
    "container_name",
    "ports",
    "environment",
    "env_file",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "command",
    "entrypoint",
    "labels",
    "restart",
    "pull_policy",
];

/// The prefix of Clockwork's own labels, which a declaration may not set.
pub(super) const CLOCKWORK_LABELS: &str = crate::docker::labels::NAMESPACE;

pub(super) const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models",
];
