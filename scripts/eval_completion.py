"""Completion against a real model, case by case: does each description-only
project plan, apply and pass its implied checks, and what did it cost.

Run by scripts/eval-completion.sh, which builds clockwork and starts the
model's server; this file only drives the cases and prints the table.

    python3 scripts/eval_completion.py CLOCKWORK BASE_URL MODEL [--no-apply]

Images are the stand-ins this machine has (tests/images/build.sh): where a
case names one, no registry is needed; where the model picks one, `apply`
shows whether it picked one that is here.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

SEED_000 = """
postgres = DockerResource(
    description = "PostgreSQL database",
    name = "eval-postgres-db",
    image = "postgres:15-alpine",
    env_vars = {"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "secret123"},
)
redis = DockerResource(description = "Redis cache", name = "eval-redis-cache", image = "redis:7-alpine")
api = DockerResource(
    description = "FastAPI backend server that provides REST API endpoints. Needs database connection for user data and Redis for caching API responses.",
    name = "eval-api-server",
    image = "nginx:alpine",
    connections = [postgres, redis],
)
worker = DockerResource(
    description = "Background worker service that processes async jobs from Redis queue.",
    name = "eval-worker-service",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
    connections = [redis],
)
"""

DB = """db = DockerResource(name = "eval-db", image = "postgres:15-alpine", env_vars = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "appdb"})
"""

IDLE = """["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"""

CASES = [
    ("seed 000 as written", SEED_000),
    (
        "seed 000, api image from the model",
        SEED_000.replace('    image = "nginx:alpine",\n', "", 1),
    ),
    (
        "postgres from a description",
        # The image needs a password, which is never completed: the user's.
        'db = DockerResource(name = "eval-pg", description = "PostgreSQL database for the API", env_vars = {"POSTGRES_PASSWORD": "pw"})\n',
    ),
    (
        "redis from a description",
        'cache = DockerResource(name = "eval-cache", description = "Redis cache for sessions")\n',
    ),
    (
        "web server from a description",
        'web = DockerResource(name = "eval-web", description = "nginx web server serving static files", ports = ["18480:80"])\n',
    ),
    (
        "DatabaseConnection with a description (seed 002)",
        DB
        + f'api = DockerResource(name = "eval-dbc-api", image = "postgres:15-alpine", command = {IDLE})\n'
        + 'api.connect(DatabaseConnection(to_resource = db, description = "Connect to PostgreSQL database for user data"))\n',
    ),
    (
        "NetworkConnection with a description (seed 002)",
        f'cache = DockerResource(name = "eval-net-cache", image = "redis:7-alpine")\n'
        f'api = DockerResource(name = "eval-net-api", image = "busybox:latest", command = {IDLE})\n'
        'api.connect(NetworkConnection(to_resource = cache, description = "backend network for API and cache communication"))\n',
    ),
    (
        "FileConnection with a description (seed 002)",
        f'storage = DockerResource(name = "eval-files", image = "busybox:latest", command = {IDLE})\n'
        f'api = DockerResource(name = "eval-files-api", image = "busybox:latest", command = {IDLE})\n'
        'api.connect(FileConnection(to_resource = storage, description = "shared volume for user file uploads"))\n',
    ),
    (
        "FileResource from a description",
        'notes = FileResource(name = "README.md", description = "a short README for the team that runs this stack")\n',
    ),
    (
        "CrossResourceAssert in words: connectivity",
        DB
        + f'api = DockerResource(name = "eval-words-api", image = "busybox:latest", command = {IDLE}, connections = [db])\n'
        + 'CrossResourceAssert(source = api, target = db, assertion = "the API can connect to the database")\n',
    ),
    (
        "CrossResourceAssert in words: both run",
        DB
        + f'api = DockerResource(name = "eval-both-api", image = "busybox:latest", command = {IDLE})\n'
        + 'CrossResourceAssert(source = api, target = db, assertion = "the API and the database are both running")\n',
    ),
    (
        "composite with described children",
        'shop = BlankResource(name = "eval-shop", description = "an online shop for books")\n'
        'shop.add(DockerResource(name = "eval-shop-cache", description = "Redis cache for the shop"))\n'
        'shop.add(FileResource(name = "about.txt", description = "what the shop sells"))\n',
    ),
    (
        "worker connected to redis, described",
        'cache = DockerResource(name = "eval-q", image = "redis:7-alpine")\n'
        f'worker = DockerResource(name = "eval-q-worker", description = "worker that processes jobs from the queue", image = "busybox:latest", command = {IDLE}, connections = [cache])\n',
    ),
]


def run(clockwork, folder, args, env, timeout):
    started = time.monotonic()
    try:
        done = subprocess.run(
            [clockwork, "-C", folder, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        code, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        code, out = None, "timed out"
    return code, out, time.monotonic() - started


def declarations(text):
    return len(re.findall(r"\b[A-Z][A-Za-z]*(?:Resource|Connection|Assert)\(", text))


def main():
    clockwork, base_url, model = sys.argv[1:4]
    apply = "--no-apply" not in sys.argv
    env = dict(os.environ)
    env.update(
        {
            "CW_BASE_URL": base_url,
            "CW_MODEL": model,
            "CW_MODEL_TIMEOUT": "300",
            "CW_MODEL_MAX_TOKENS": "512",
            "NO_COLOR": "1",
        }
    )
    rows = []
    failures = []
    # CW_EVAL_ONLY=words keeps the cases whose name has one of the words.
    only = os.environ.get("CW_EVAL_ONLY", "").split()
    for name, text in CASES:
        if only and not any(word.lower() in name.lower() for word in only):
            continue
        with tempfile.TemporaryDirectory() as root:
            folder = os.path.join(root, "eval")
            os.mkdir(folder)
            with open(os.path.join(folder, "main.star"), "w") as f:
                f.write(text)
            env["XDG_DATA_HOME"] = os.path.join(root, "data")
            code, out, seconds = run(clockwork, folder, ["-v", "plan"], env, 1800)
            found = re.search(r"completion: (\d+) model requests", out)
            requests = found.group(1) if found else "?"
            planned = code == 0
            applied = checked = "-"
            if not planned:
                failures.append((name, out))
            if planned and apply:
                code, out, _ = run(clockwork, folder, ["apply", "--yes"], env, 900)
                applied = "yes" if code == 0 else "no"
                if code == 0:
                    code, out2, _ = run(clockwork, folder, ["assert"], env, 600)
                    checked = "yes" if code == 0 else "no"
                    if code != 0:
                        failures.append((name + " (assert)", out2))
                else:
                    failures.append((name + " (apply)", out))
                run(clockwork, folder, ["destroy", "--yes"], env, 600)
            count = max(declarations(text), 1)
            rows.append(
                (
                    name,
                    "yes" if planned else "no",
                    applied,
                    checked,
                    requests,
                    f"{seconds / count:.1f}",
                )
            )
            print(f"  {name}: plan {rows[-1][1]}, apply {applied}, checks {checked}", file=sys.stderr)
    head = ("case", "plan", "apply", "implied checks", "requests", "s per declaration")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(f"model {model} at {base_url}")
    for row in [head] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    planned = sum(r[1] == "yes" for r in rows)
    print(f"{planned} of {len(rows)} cases plan")
    for name, out in failures:
        tail = "\n    ".join(out.strip().splitlines()[-6:])
        print(f"\n{name}:\n    {tail}")


if __name__ == "__main__":
    main()
