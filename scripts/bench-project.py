#!/usr/bin/env python3
"""Writes the large plan benchmark's project: N resources, 2N connections.

    scripts/bench-project.py DIR [N]      (default 5000)

Resource i depends on i - 1 and i / 2: a deep, wide DAG. One connection in
ten is a DatabaseConnection (naming its engine: its targets run busybox,
from which no engine can be told), one in ten an explicit
DependencyConnection(...), the rest the .connect(resource) shorthand. Used
by scripts/bench-plan.sh (the CLI) and host/benches/plan.rs (the library),
so both time the same project.
"""
import os
import sys

def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    lines = []
    for i in range(n):
        lines.append(
            f'r{i} = DockerResource(image = "busybox:latest", ports = ["{1000 + i % 50000}"], '
            f'env_vars = {{"INDEX": "{i}"}})'
        )
    connections = 0
    for i in range(1, n):
        for target in (i - 1, i // 2):
            if connections % 10 == 0:
                lines.append(
                    f'r{i}.connect(DatabaseConnection(to_resource = r{target}, '
                    f'engine = "postgresql", env_var_name = "DB_{connections}"))'
                )
            elif connections % 10 == 5:
                lines.append(f"r{i}.connect(DependencyConnection(to_resource = r{target}))")
            else:
                lines.append(f"r{i}.connect(r{target})")
            connections += 1
    # Two more, to earlier resources, make it exactly twice the resources.
    lines.append(f"r{n - 1}.connect(r1, r3)")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "main.star"), "w") as f:
        f.write("\n".join(lines) + "\n")

main()
