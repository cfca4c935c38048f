#!/usr/bin/env python3
"""Build and smoke-test deploy/Dockerfile's image where no container engine runs.

    sudo scripts/image-without-engine.py [--binary PATH] [--keep DIR]

The build stage's RUN commands run on this machine (Debian 12, like the toolchain image) in a
copy of the build context (the files git tracks, as deploy/Dockerfile.dockerignore leaves them),
with `/out` a folder of the work directory; the runtime stage's RUN commands run in a chroot of
a `debootstrap --variant=minbase` of the runtime image's Debian suite (what debian:*-slim is
made of), its COPY lines are copied in, and then, as the image's USER in its WORKDIR, the
image's ENTRYPOINT is run: `--help`, a simulated scenario, and both services against the test
servers (scripts/with-servers.sh must have set OVERBOOK_TEST_POSTGRES_URL and
OVERBOOK_TEST_REDIS_URL), probed with the HEALTHCHECK's own command. Slow (a static release
build and a debootstrap: 10 minutes or more on 2 cores), so it is not part of `make test`.
`--binary` skips the build stage with a binary built by its command before.

Needs root (debootstrap, chroot) and debootstrap (apt-get install debootstrap).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def say(message):
    print(f"image: {message}", flush=True)


def stages(dockerfile):
    """[(stage name, base image, [(instruction, argument)])], continuation lines joined and
    ARG defaults substituted."""
    text = re.sub(r"\\\n\s*", " ", open(dockerfile).read())
    args, result = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        instruction = instruction.upper()
        argument = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), argument.strip())
        if instruction == "ARG" and not result:
            name, _, default = argument.partition("=")
            args[name] = default
        elif instruction == "FROM":
            parts = argument.split()
            result.append((parts[2] if len(parts) > 2 else None, parts[0], []))
        else:
            result[-1][2].append((instruction, argument))
    return result


def run(command, **options):
    say("$ " + (command if isinstance(command, str) else shlex.join(command)))
    subprocess.run(command, check=True, **options)


def build_stage(stage, work):
    """The build stage's commands on this machine, in a copy of the context."""
    context = os.path.join(work, "context")
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    for name in (t.decode() for t in tracked if t):
        if name.startswith("deploy/") or not os.path.exists(os.path.join(ROOT, name)):
            continue  # the .dockerignore leaves deploy/ out
        target = os.path.join(context, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target)
    for instruction, argument in stage[2]:
        if instruction == "RUN":
            run(argument.replace("/out/", out + "/"), shell=True, cwd=context, executable="/bin/bash")
    return os.path.join(out, "overbook")


def runtime_stage(stage, binary, work):
    """debootstrap the base image's suite, then its RUN and COPY lines; returns (rootfs, image)."""
    base = stage[1]
    match = re.fullmatch(r"debian:(\w+)(-slim)?", base)
    if not match:
        sys.exit(f"image: the runtime stage's base {base} is not a Debian image this script can debootstrap")
    rootfs = os.path.join(work, "rootfs")
    run(["debootstrap", "--variant=minbase", match.group(1), rootfs, "http://deb.debian.org/debian"], stdout=subprocess.DEVNULL)
    shutil.copy("/etc/resolv.conf", os.path.join(rootfs, "etc/resolv.conf"))
    image = {"user": "root", "workdir": "/", "env": {}, "entrypoint": [], "healthcheck": None}
    for instruction, argument in stage[2]:
        if instruction == "RUN":
            run(["chroot", rootfs, "/bin/sh", "-c", argument])
        elif instruction == "COPY":
            parts = argument.split()
            source_is_build = any(p.startswith("--from=") for p in parts)
            parts = [p for p in parts if not p.startswith("--")]
            source, target = parts[0], parts[1]
            origin = binary if source_is_build else os.path.join(ROOT, source)
            destination = os.path.join(rootfs, target.lstrip("/"))
            say(f"COPY {origin} -> {target}")
            if os.path.isdir(origin):
                shutil.copytree(origin, destination, dirs_exist_ok=True)
            else:
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                shutil.copy2(origin, destination)
        elif instruction == "WORKDIR":
            image["workdir"] = argument
        elif instruction == "USER":
            image["user"] = argument
        elif instruction == "ENV":
            name, _, value = argument.partition("=")
            image["env"][name] = value
        elif instruction == "ENTRYPOINT":
            image["entrypoint"] = json.loads(argument)
        elif instruction == "HEALTHCHECK":
            image["healthcheck"] = json.loads(argument[argument.index("CMD ") + 4:])
    return rootfs, image


class Container:
    """The image's entrypoint with arguments, in the chroot, as the image's USER and WORKDIR."""

    def __init__(self, rootfs, image):
        self.rootfs, self.image = rootfs, image

    def command(self, arguments):
        user, _, group = self.image["user"].partition(":")
        env = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"] + [f"{k}={v}" for k, v in self.image["env"].items()]
        inner = shlex.join(["cd", self.image["workdir"]]) + " && exec " + shlex.join(env + arguments)
        return ["chroot", f"--userspec={user}:{group or user}", self.rootfs, "/bin/sh", "-c", inner]

    def run(self, arguments, **options):
        return subprocess.run(self.command(self.image["entrypoint"] + arguments), capture_output=True, text=True, **options)

    def start(self, arguments, log):
        return subprocess.Popen(self.command(self.image["entrypoint"] + arguments), stdout=log, stderr=subprocess.STDOUT)


def smoke(rootfs, image, work):
    container = Container(rootfs, image)
    checks = []

    def check(name, ok, detail=""):
        checks.append(ok)
        say(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")

    missing = subprocess.run(["chroot", rootfs, "ldd", "/usr/local/bin/overbook"], capture_output=True, text=True)
    check("every library the binary links is in the image", "not found" not in missing.stdout, missing.stdout)
    help_run = container.run(["--help"])
    check("overbook --help", help_run.returncode == 0 and "serve" in help_run.stdout, help_run.stdout + help_run.stderr)
    simulated = container.run(["run", "scenarios/seed-experiment.yaml"])
    check("overbook run scenarios/seed-experiment.yaml (as the image's user, report under WORKDIR/reports)",
          "trace hash:" in simulated.stdout, simulated.stdout[-2000:] + simulated.stderr[-2000:])

    postgres, redis = os.environ.get("OVERBOOK_TEST_POSTGRES_URL"), os.environ.get("OVERBOOK_TEST_REDIS_URL")
    if not postgres or not redis:
        check("the services (run under scripts/with-servers.sh to test them)", False, "OVERBOOK_TEST_POSTGRES_URL / OVERBOOK_TEST_REDIS_URL not set")
        return all(checks)
    admin = postgres.rsplit("/", 1)[0]
    token = str(int(time.time()))
    names = [f"overbook_image_{token}_inventory", f"overbook_image_{token}_booking"]
    for name in names:
        subprocess.run(["psql", "-X", "-q", "-d", postgres, "-c", f"CREATE DATABASE {name}"], check=True)
    processes = []
    try:
        with open(os.path.join(work, "services.log"), "w") as log:
            env = {"OVERBOOK_INVENTORY_DATABASE_URL": f"{admin}/{names[0]}", "OVERBOOK_BOOKING_DATABASE_URL": f"{admin}/{names[1]}",
                   "OVERBOOK_REDIS_URL": redis.rstrip("/") + "/1", "OVERBOOK_VARIANT": "lock-free"}
            with_env = Container(rootfs, {**image, "env": {**image["env"], **env}})
            migrate = with_env.run(["migrate", "--seed-data"])
            check("overbook migrate --seed-data", migrate.returncode == 0, migrate.stdout + migrate.stderr)
            processes.append(with_env.start(["serve", "inventory", "--port", "5001"], log))
            processes.append(with_env.start(["serve", "booking", "--port", "5002"], log))
            healthy = False
            for _ in range(120):
                probe = container.run(image["healthcheck"][1:] if image["healthcheck"][0] == image["entrypoint"][0] else image["healthcheck"])
                if probe.returncode == 0:
                    healthy = True
                    break
                time.sleep(0.5)
            check(f"the HEALTHCHECK ({shlex.join(image['healthcheck'])}) passes on the booking service", healthy, probe.stdout + probe.stderr)
            inventory = container.run(["health", "--url", "http://127.0.0.1:5001/api/health"])
            check("overbook health on the inventory service", inventory.returncode == 0, inventory.stdout + inventory.stderr)
            load = container.run(["load", "--url", "http://127.0.0.1:5002/api", "--users", "50"])
            check("overbook load (50 users, the last room): 1 x 201", "Successful Bookings (201): 1\n" in load.stdout, load.stdout[-3000:] + load.stderr)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        for name in names:
            subprocess.run(["psql", "-X", "-q", "-d", postgres, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
    return all(checks)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="a binary the build stage made before (skips it)")
    parser.add_argument("--keep", help="work in this directory and keep it")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("image: needs root (debootstrap, chroot)")
    if not shutil.which("debootstrap"):
        sys.exit("image: needs debootstrap: apt-get install debootstrap")
    found = stages(os.path.join(ROOT, "deploy/Dockerfile"))
    if len(found) != 2:
        sys.exit(f"image: expected a build and a runtime stage, found {len(found)}")
    work = options.keep or tempfile.mkdtemp(prefix="overbook-image-")
    os.makedirs(work, exist_ok=True)
    try:
        binary = options.binary or build_stage(found[0], work)
        rootfs, image = runtime_stage(found[1], binary, work)
        # What a container engine gives every container.
        mounts = [os.path.join(rootfs, "proc"), os.path.join(rootfs, "dev")]
        run(["mount", "-t", "proc", "proc", mounts[0]])
        run(["mount", "--bind", "/dev", mounts[1]])
        try:
            ok = smoke(rootfs, image, work)
        finally:
            for mount in reversed(mounts):
                subprocess.run(["umount", "-l", mount])
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    say("the image's stages ran and every check passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
