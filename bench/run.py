#!/usr/bin/env python3
"""xb against BuildKit and Buildah on the same Dockerfiles, in one run.

    bench/run.py [--rounds N] [--cases a,b] [--tools xb,buildkit,buildah] [--smoke] [--xb PATH]

Starts a loopback registry (Debian's docker-registry) holding the busybox
test base, generates the cases deterministically, runs every case and phase
with the tools interleaved (xb, BuildKit, Buildah for one phase, then the
next), and reports medians of wall time and peak RSS. Writes
bench/RESULTS.md unless --smoke (one round, the smallest case, xb only: what
CI runs so the harness cannot rot). Run as root (BuildKit's daemon needs it).
"""

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEERS = os.path.join(os.path.dirname(REPO), "shared", "peers")
BUILDKIT_SH = os.path.join(PEERS, "buildkit.sh")

# ---------------------------------------------------------------- cases


def case_multistage(base):
    dockerfile = f"""\
FROM {base} AS one
RUN sleep 1 && dd if=/dev/zero of=/one.bin bs=1M count=20 2>/dev/null \\
 && mkdir /small && i=0 && while [ $i -lt 200 ]; do echo $i > /small/f$i; i=$((i+1)); done
FROM {base} AS two
RUN sleep 1 && dd if=/dev/zero of=/two.bin bs=1M count=20 2>/dev/null \\
 && echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd \\
 && mkdir -p /home/app/data && chown -R 1000:1000 /home/app
FROM {base} AS unused
RUN sleep 5
FROM {base}
COPY --from=one /one.bin /out/
COPY --from=one /small /out/small/
COPY --from=two /two.bin /out/
COPY --from=two /etc/passwd /etc/passwd
COPY --from=two /home/app /home/app
COPY ctx/ /ctx/
ENV MODE=bench
LABEL bench.case=multistage
USER 1000
WORKDIR /home/app
CMD ["sh"]
"""
    files = {f"ctx/file{i}.txt": f"context file {i}\n" for i in range(10)}
    return dockerfile, files, "ctx/file3.txt", ""


def case_bigcontext(base):
    dockerfile = f"""\
FROM {base}
COPY . /src
RUN find /src -type f | wc -l > /count
"""
    files = {}
    for d in range(1000):
        for f in range(20):
            files[f"tree/d{d:04}/f{f:02}.txt"] = f"{d}-{f}\n"
    for f in range(500):
        files[f"ignored/sub{f % 10}/junk{f}.txt"] = "junk\n"
    return dockerfile, files, "tree/d0500/f10.txt", "ignored\n"


def case_biglayer(base):
    dockerfile = f"""\
FROM {base}
RUN dd if=/dev/urandom of=/big.bin bs=1M count=300 2>/dev/null
"""
    return dockerfile, {}, None, ""


def case_manyruns(base):
    lines = [f"FROM {base}"]
    lines += [f"RUN echo {i} > /file{i}" for i in range(40)]
    return "\n".join(lines) + "\n", {}, None, ""


CASES = {
    "multistage": case_multistage,
    "bigcontext": case_bigcontext,
    "biglayer": case_biglayer,
    "manyruns": case_manyruns,
}

# ---------------------------------------------------------------- helpers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(work):
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = os.path.join(work, "registry.yml")
    with open(config, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {work}/registry\nhttp:\n  addr: {address}\n"
        )
    proc = subprocess.Popen(
        ["docker-registry", "serve", config],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
            return proc, address
        except Exception:
            time.sleep(0.05)
    proc.kill()
    sys.exit("docker-registry did not come up")


def push_base(work, address):
    layout = os.path.join(work, "busybox")
    subprocess.run(
        ["bash", os.path.join(REPO, "testdata/images/busybox-oci.sh"), layout],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    image = f"{address}/bench/busybox:latest"
    subprocess.run(
        ["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:latest", f"docker://{image}"],
        check=True,
    )
    return image


def write_case(root, dockerfile, files, ignore):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(dockerfile)
    if ignore:
        with open(os.path.join(root, ".dockerignore"), "w") as f:
            f.write(ignore)
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.utime(full, (1_000_000_000, 1_000_000_000))


def run_timed(argv, env=None, cwd=None):
    """Wall seconds and peak RSS (MiB) of the largest process of the tree."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def version_of(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception as error:  # noqa: BLE001 - only a label
        return f"unknown ({error})"


# ---------------------------------------------------------------- tools


class Xb:
    name = "xb"

    def __init__(self, binary, work):
        self.binary = binary
        self.work = work

    def version(self):
        return version_of([self.binary, "version"])

    def reset(self, case):
        shutil.rmtree(self.store(case), ignore_errors=True)

    def store(self, case):
        return os.path.join(self.work, "xb-store", case)

    def build(self, case, context, out):
        return run_timed(
            [self.binary, "build", "--root", self.store(case), "--progress=plain",
             "-o", f"type=oci,dest={out}", context]
        )


class BuildKit:
    name = "buildkit"

    def __init__(self, registry):
        subprocess.run([BUILDKIT_SH, "start", registry], check=True)
        env = subprocess.run([BUILDKIT_SH, "env"], capture_output=True, text=True, check=True).stdout
        self.env = dict(os.environ)
        for part in env.replace("export ", "").split():
            key, _, value = part.partition("=")
            self.env[key] = value.replace("$PATH", os.environ.get("PATH", ""))
        self.pid = int(subprocess.run([BUILDKIT_SH, "pid"], capture_output=True, text=True, check=True).stdout)

    def version(self):
        return version_of(["env", f"PATH={self.env['PATH']}", "buildctl", "--version"])

    def reset(self, case):
        subprocess.run([BUILDKIT_SH, "prune"], check=True, env=self.env)

    def daemon_peak(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def build(self, case, context, out):
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")
        wall, client = run_timed(
            ["buildctl", "build", "--frontend", "dockerfile.v0", "--local", f"context={context}",
             "--local", f"dockerfile={context}", "--output", f"type=oci,dest={out}"],
            env=self.env,
        )
        return wall, client, self.daemon_peak()

    def stop(self):
        subprocess.run([BUILDKIT_SH, "stop"], check=False)


class Buildah:
    name = "buildah"

    def __init__(self, work):
        self.work = work

    def version(self):
        return version_of(["buildah", "--version"])

    def roots(self, case):
        base = os.path.join(self.work, "buildah", case)
        return ["--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run"),
                "--storage-driver", "overlay"]

    def reset(self, case):
        base = os.path.join(self.work, "buildah", case)
        if os.path.exists(base):
            subprocess.run(["buildah", *self.roots(case), "rm", "--all"], capture_output=True)
            subprocess.run(["umount", "-R", os.path.join(base, "root", "overlay")], capture_output=True)
            shutil.rmtree(base, ignore_errors=True)

    def build(self, case, context, out):
        tag = f"localhost/bench-{case}:latest"
        wall1, rss1 = run_timed(
            ["buildah", *self.roots(case), "build", "--layers", "--isolation", "chroot",
             "--tls-verify=false", "-q", "-t", tag, context]
        )
        wall2, rss2 = run_timed(["buildah", *self.roots(case), "push", "-q", tag, f"oci-archive:{out}"])
        return wall1 + wall2, max(rss1, rss2)


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--tools", default="xb,buildkit,buildah")
    parser.add_argument("--xb", default=os.path.join(REPO, "target/x86_64-unknown-linux-gnu/release/xb"))
    parser.add_argument("--smoke", action="store_true", help="one round, multistage, xb only; no RESULTS.md")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.cases, args.tools = 1, "multistage", "xb"
    cases = args.cases.split(",")
    work = tempfile.mkdtemp(prefix="xb-bench-")
    registry, address = start_registry(work)
    tools = []
    try:
        base = push_base(work, address)
        for name in args.tools.split(","):
            if name == "xb":
                tools.append(Xb(os.path.abspath(args.xb), work))
            elif name == "buildkit":
                tools.append(BuildKit(address))
            elif name == "buildah":
                tools.append(Buildah(work))
        results = {}  # (case, phase, tool) -> list of (wall, rss, daemon)
        retried = []
        for round_index in range(args.rounds):
            for case in cases:
                dockerfile, files, touch, ignore = CASES[case](base)
                context = os.path.join(work, "ctx", case)
                shutil.rmtree(context, ignore_errors=True)
                write_case(context, dockerfile, files, ignore)
                phases = ["cold", "noop"] + (["touch1"] if touch else [])
                for tool in tools:
                    tool.reset(case)
                for phase in phases:
                    if phase == "touch1":
                        path = os.path.join(context, touch)
                        with open(path, "a") as f:
                            f.write(f"changed in round {round_index}\n")
                    for tool in tools:
                        out = os.path.join(work, f"out-{tool.name}-{case}.tar")
                        # Every tool writes a fresh archive: deleting the last
                        # one (0.2 s for 300 MB here) is not part of a build.
                        if os.path.exists(out):
                            os.remove(out)
                        try:
                            measured = tool.build(case, context, out)
                        except RuntimeError as error:
                            if tool.name == "xb":
                                raise
                            # Buildah 1.28 fails now and then with "sealing
                            # memfd copy: Device or resource busy"; a peer's
                            # flake is retried once (its layers cached so far
                            # only make the retry faster), never xb's.
                            print(f"round {round_index + 1} {case} {phase} {tool.name}: retrying after: "
                                  f"{str(error).strip().splitlines()[-1]}", flush=True)
                            retried.append(f"{tool.name} {case} {phase} round {round_index + 1}")
                            measured = tool.build(case, context, out)
                        wall, rss = measured[0], measured[1]
                        daemon = measured[2] if len(measured) > 2 else None
                        results.setdefault((case, phase, tool.name), []).append((wall, rss, daemon))
                        print(f"round {round_index + 1} {case:10} {phase:6} {tool.name:8} "
                              f"{wall:7.2f} s {rss:7.1f} MiB" + (f" (daemon {daemon:.0f} MiB)" if daemon else ""),
                              flush=True)
        table = report(results, cases, tools)
        print(table)
        if not args.smoke:
            write_results(table, tools, args, base, retried)
    finally:
        for tool in tools:
            if hasattr(tool, "stop"):
                tool.stop()
        registry.kill()
        registry.wait()
        shutil.rmtree(work, ignore_errors=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def report(results, cases, tools):
    names = [tool.name for tool in tools]
    header = "| case | phase | " + " | ".join(f"{n} s" for n in names)
    if "buildkit" in names and "xb" in names:
        header += " | xb/BuildKit"
    header += " | " + " | ".join(f"{n} MiB" for n in names) + " |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for case in cases:
        for phase in ["cold", "noop", "touch1"]:
            if (case, phase, names[0]) not in results:
                continue
            walls = {n: median([r[0] for r in results[(case, phase, n)]]) for n in names}
            rss = {}
            for n in names:
                rows = results[(case, phase, n)]
                rss[n] = median([r[1] for r in rows])
                if rows[0][2] is not None:
                    rss[n] = median([r[2] for r in rows])
                    rss[n + "-client"] = median([r[1] for r in rows])
            row = f"| {case} | {phase} | " + " | ".join(f"{walls[n]:.2f}" for n in names)
            if "buildkit" in names and "xb" in names:
                row += f" | {walls['xb'] / walls['buildkit']:.2f}"
            cells = []
            for n in names:
                cell = f"{rss[n]:.0f}"
                if n + "-client" in rss:
                    cell += f" (+{rss[n + '-client']:.0f} client)"
                cells.append(cell)
            row += " | " + " | ".join(cells) + " |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def write_results(table, tools, args, base, retried):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("# Benchmark results\n\n")
        f.write(f"Generated by `bench/run.py --rounds {args.rounds}` on {time.strftime('%Y-%m-%d')}.\n\n")
        f.write(f"- Machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, kernel {platform.release()}\n")
        for tool in tools:
            f.write(f"- {tool.name}: {tool.version()}\n")
        f.write(f"- Base image: busybox from Debian's busybox-static, served by docker-registry at `{base.split('/')[0]}`\n\n")
        f.write("Medians of wall time and peak RSS over the rounds. xb: `xb build --root STORE -o type=oci,dest=out.tar`; ")
        f.write("BuildKit: `buildctl build --frontend dockerfile.v0 --output type=oci,dest=out.tar` (RSS is the daemon's VmHWM, reset per build, plus the client); ")
        f.write("Buildah: `buildah build --layers --isolation chroot` then `buildah push oci-archive:out.tar` (times summed). ")
        f.write("Cold: empty store (`buildctl prune --all`, a fresh Buildah root). RSS for xb and Buildah is the largest process of the tree (wait4 ru_maxrss), RUN commands included.\n\n")
        f.write(table)
        if retried:
            f.write("\nPeer builds retried once after a failure (the retry's time is the one counted): "
                    + "; ".join(retried) + ".\n")


if __name__ == "__main__":
    main()
