#!/usr/bin/env python3
"""Writes a generated Go single-module repository for bench/discover_go.sh.

One module (`example.com/shop`) of PACKAGES packages: SERVICES `package main` directories under
`services/` and the rest shared packages under `pkg/` in domains of 20, each importing up to two
lower-numbered packages of its domain and sometimes one of the core domain (acyclic), each service
importing two to six packages of two domains. Every package has two source
files and a test file. Two commits: the import, then one changed Go file in a shared package.
With --explicit the repository also gets a pipeline.toml naming every service with `paths` for
the packages of its closure, which is what a user would write by hand without discovery.

Deterministic: a seeded generator, fixed identities and timestamps.
"""
import argparse
import os
import random
import shutil
import subprocess

MODULE = "example.com/shop"
DOMAIN = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--packages", type=int, default=2300)
    ap.add_argument("--services", type=int, default=300)
    ap.add_argument("--explicit", action="store_true")
    ap.add_argument("--roots-only", action="store_true", help="with --explicit: no `paths` (misses every shared package)")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    shutil.rmtree(a.path, ignore_errors=True)
    os.makedirs(a.path)
    shared = a.packages - a.services
    # Shared packages come in domains of DOMAIN packages; each imports up to two lower-numbered
    # packages of its own domain and, now and then, one of the core domain (the first), as real
    # layered code does. A service imports two to six packages of one or two domains.
    imports = {}
    for i in range(shared):
        base = i - i % DOMAIN
        lower = list(range(base, i))
        deps = rnd.sample(lower, min(len(lower), rnd.randint(0, 2)))
        if base > 0 and rnd.random() < 0.2:
            deps.append(rnd.randrange(DOMAIN))
        imports[f"pkg/p{i:04d}"] = [f"pkg/p{j:04d}" for j in deps]
    domains = shared // DOMAIN
    for i in range(a.services):
        pool = [p for d in rnd.sample(range(domains), 2) for p in range(d * DOMAIN, (d + 1) * DOMAIN)]
        imports[f"services/svc-{i:03d}"] = [f"pkg/p{j:04d}" for j in rnd.sample(pool, rnd.randint(2, 6))]

    def write(rel, text):
        p = os.path.join(a.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    write("go.mod", f"module {MODULE}\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n")
    write("go.sum", "github.com/google/uuid v1.6.0 h1:x\ngithub.com/google/uuid v1.6.0/go.mod h1:y\n")
    body = "\n".join(f"func F{k}(x int) int {{ return x*{k} + {k} }}" for k in range(40))
    for d, deps in imports.items():
        main = d.startswith("services/")
        name = "main" if main else os.path.basename(d)
        imp = "".join(f'\t"{MODULE}/{x}"\n' for x in deps)
        use = "".join(f"var _ = {os.path.basename(x)}.F0\n" for x in deps)
        write(f"{d}/a.go", f"// Code for {d}.\npackage {name}\n\nimport (\n\t\"fmt\"\n{imp}\t\"github.com/google/uuid\"\n)\n\n{use}var _ = fmt.Sprint\nvar _ = uuid.New\n\n{body}\n" + ("func main() {}\n" if main else ""))
        write(f"{d}/b.go", f"package {name}\n\nimport \"strings\"\n\nvar _ = strings.TrimSpace\n\n{body.replace('func F', 'func G')}\n")
        write(f"{d}/a_test.go", f"package {name}\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {{}}\n")
    if a.explicit:
        lines = ["[workspace]", 'ignore = ["**/*.md"]', "", "[targets.build]", 'command = "go build ./..."', ""]
        for i in range(a.services):
            d = f"services/svc-{i:03d}"
            seen, todo = set(), list(imports[d])
            while todo:
                x = todo.pop()
                if x not in seen:
                    seen.add(x)
                    todo.extend(imports[x])
            paths = ", ".join(f'"{x}/*.go"' for x in sorted(seen))
            lines += [f"[services.svc-{i:03d}]", f'root = "{d}"']
            lines += [] if a.roots_only else [f"paths = [{paths}]"]
            lines += [""]
        write("pipeline.toml", "\n".join(lines))
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    git = lambda *args: subprocess.run(["git", "-C", a.path, *args], check=True, env=env, stdout=subprocess.DEVNULL)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "initial")
    with open(os.path.join(a.path, "pkg/p0105/b.go"), "a") as f:
        f.write("\nfunc Changed() {}\n")
    git("commit", "-qam", "change one shared package")


if __name__ == "__main__":
    main()
