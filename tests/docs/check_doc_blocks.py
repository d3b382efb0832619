#!/usr/bin/env python3
"""Runs the examples of a documentation page and checks what they print (ctest docs.*).

  tests/docs/check_doc_blocks.py --repo REPO PAGE.md [--timeout 110] [--keep]

Every fenced block of the page whose language is sh, bash or python runs, in page order, as a
user would run it from a clone of the repository: in a fresh folder that holds links to the
clone's top-level entries (scripts/, build/, python/, ...) and `../shared` beside it when the
clone has one, so that `build/cli/gru4rec` and `../shared/data/...` mean what they mean in the
clone, and what the blocks write stays in that folder. The shell blocks of a page share one
bash (variables and background servers carry from block to block; `set -e -o pipefail`);
each python block is a script of its own (python3, PYTHONPATH=build/python).

Conventions for pages:
- A ```text block right after a runnable block is its expected output: each of its non-empty
  lines must appear in the block's output (stdout and stderr), in order; `...` inside a line
  matches anything (for what is not stable: timings, scores), and other lines may come between.
- `<!-- doc-test: skip REASON -->` on the line before a block skips it (REASON is required).
- Servers: the port 8080 in a block is replaced by a free port chosen at run time; every
  process a page starts is stopped when the page ends, failed or not.
The check fails when a block fails (with the block's line in the page and its output), when an
expected output is not found, or when a skip has no reason.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RUNNABLE = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "python3": "python"}
SKIP = re.compile(r"<!--\s*doc-test:\s*skip\b(.*?)-->")


class Block:
    def __init__(self, language, line, text):
        self.language, self.line, self.text = language, line, text
        self.expected = None  # lines of the ```text block after it
        self.skip = None  # the reason


def parse(path):
    """The fenced blocks of a page, with their first line (1-based) and skip directives."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i, last_runnable = [], 0, None
    while i < len(lines):
        match = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not match:
            if lines[i].strip() and not lines[i].strip().startswith("<!--"):
                last_runnable = None  # prose between: a text block after it is no output
            i += 1
            continue
        indent, fence, language = match.group(1), match.group(2), match.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        previous = lines[start - 1] if start > 0 else ""
        skip = SKIP.search(previous)
        if language in RUNNABLE:
            block = Block(RUNNABLE[language], start + 1, "\n".join(body))
            if skip:
                block.skip = skip.group(1).strip()  # "": refused by check()
            blocks.append(block)
            last_runnable = block
        elif language == "text" and last_runnable is not None and last_runnable.expected is None:
            last_runnable.expected = [line.rstrip() for line in body if line.strip()]
            last_runnable = None
        else:
            last_runnable = None
    return blocks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workspace(repo, build, shared):
    """A folder that looks like the clone (links to its top-level entries, `build` to the build
    tree under test) with ../shared."""
    root = tempfile.mkdtemp(prefix="gru4rec-doc-")
    work = os.path.join(root, "main")
    os.mkdir(work)
    try:  # the clone's own entries, not what earlier runs left in it (demo/, data/)
        tracked = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True,
                                 text=True).stdout
    except OSError:  # no git: every entry
        tracked = "\n".join(n for n in os.listdir(repo) if n != ".git")
    names = {line.split("/")[0] for line in tracked.splitlines() if line}
    names.discard("build")
    for name in sorted(names):
        if os.path.exists(os.path.join(repo, name)):
            os.symlink(os.path.join(repo, name), os.path.join(work, name))
    os.symlink(build, os.path.join(work, "build"))
    if os.path.isdir(shared):
        os.symlink(shared, os.path.join(root, "shared"))
    return root, work


def stop_group(process):
    """SIGTERM to everything the page started, SIGKILL to what is left after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.poll()  # reaps bash: a zombie still counts as a member of its group
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def matches(expected, actual):
    pattern = ".*".join(re.escape(part) for part in expected.strip().split("..."))
    return re.fullmatch(r"\s*" + pattern + r"\s*", actual) is not None


def check_output(block, output):
    """The first expected line not found in order, or None."""
    lines = [line.rstrip() for line in output.split("\n")]
    at = 0
    for wanted in block.expected:
        while at < len(lines) and not matches(wanted, lines[at]):
            at += 1
        if at == len(lines):
            return wanted
        at += 1
    return None


def check(args, say):
    """Runs the page; returns 0 (passed), 1 (failed) or 77 (skipped)."""
    repo = os.path.abspath(args.repo)
    build = os.path.abspath(args.build or os.path.join(repo, "build"))
    page = os.path.abspath(args.page)
    name = os.path.relpath(page, repo)
    blocks = parse(page)
    for b in blocks:
        if b.skip == "":
            say(f"{name}:{b.line}: a doc-test skip needs a reason")
            return 1
    runnable = [b for b in blocks if b.skip is None]
    for b in blocks:
        if b.skip is not None:
            say(f"{name}:{b.line}: skipped: {b.skip}")
    if not runnable:
        say(f"{name}: no runnable block")
        return 0
    shared = os.path.join(os.path.dirname(repo), "shared")
    if any("../shared" in b.text for b in runnable) and not os.path.isdir(shared):
        if os.environ.get("CI"):
            say(f"{name}: its examples need {shared}, which is absent (CI is set: failing)")
            return 1
        say(f"{name}: skipped: its examples need {shared}, which is absent")
        return 77

    root, work = make_workspace(repo, build, shared)
    port = str(free_port())
    script = ["trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT"]
    for n, b in enumerate(runnable):
        # 8080 as a number of its own (not in 18080): the page's server port.
        text = re.sub(r"(?<![0-9])8080(?![0-9])", port, b.text)
        out = os.path.join(root, f"block{n}.out")
        # Again before every block: a block's `set +e` must not switch it off for the next.
        script.append(f"set -e -o pipefail; echo {n} > {root}/current")
        if b.language == "python":
            path = os.path.join(root, f"block{n}.py")
            with open(path, "w") as f:
                f.write(text + "\n")
            script.append(f"python3 {path} > {out} 2>&1 < /dev/null")
        else:
            script.append(f"{{\n{text}\n}} > {out} 2>&1 < /dev/null")
    script.append(f"echo done > {root}/current")
    with open(os.path.join(root, "page.sh"), "w") as f:
        f.write("\n".join(script) + "\n")
    env = dict(os.environ)
    # The pages are written for Debian's python3 (the one with numpy and pandas): a pyenv or a
    # virtual environment earlier on the PATH would hide it.
    env["PATH"] = "/usr/bin:" + env.get("PATH", "")
    env["PYTHONPATH"] = os.path.join(work, "build", "python") + (
        ":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    process = subprocess.Popen(["bash", os.path.join(root, "page.sh")], cwd=work, env=env,
                               start_new_session=True)
    timed_out = False
    try:
        process.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        stop_group(process)
        process.wait()
    state = open(os.path.join(root, "current")).read().strip()
    failed = 0
    if state != "done":
        b = runnable[int(state)]
        output = open(os.path.join(root, f"block{state}.out")).read()
        why = f"timed out after {args.timeout:g} s" if timed_out else \
            f"exited with {process.returncode}"
        say(f"{name}:{b.line}: the {b.language} block {why}; its output:\n{output[-4000:]}")
        # What the page's servers wrote (server.log ...), which their clients do not show.
        for log in sorted(f for f in os.listdir(work) if f.endswith(".log")):
            with open(os.path.join(work, log), errors="replace") as f:
                say(f"--- {log} (its end):\n{f.read()[-2000:]}")
        failed += 1
    else:
        for n, b in enumerate(runnable):
            if b.expected is None:
                continue
            output = open(os.path.join(root, f"block{n}.out")).read()
            missing = check_output(b, output)
            if missing is not None:
                say(f"{name}:{b.line}: the output shown after this block differs from what it "
                    f"printed: no line matches\n  {missing}\n(after the lines matched before "
                    f"it); what it printed:\n{output[-4000:]}")
                failed += 1
    ran = len(runnable) if state == "done" else int(state) + 1
    checked = sum(1 for b in runnable if b.expected is not None) if state == "done" else 0
    say(f"{name}: {ran} blocks run, {checked} outputs compared, "
        f"{len(blocks) - len(runnable)} skipped: {'FAILED' if failed else 'ok'}")
    if args.keep:
        say(f"work folder kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build", help="the build tree whose programs the pages run "
                        "(default: REPO/build)")
    parser.add_argument("--timeout", type=float, default=110)
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (to look into a failure)")
    parser.add_argument("--expect-failure", metavar="TEXT",
                        help="the runner's own tests: pass only when the page fails with TEXT "
                        "in the report")
    parser.add_argument("page")
    args = parser.parse_args()
    report = []

    def say(text):
        print(text, flush=True)
        report.append(text)

    code = check(args, say)
    if args.expect_failure is None:
        return code
    if code == 1 and any(args.expect_failure in line for line in report):
        print(f"failed as expected, with: {args.expect_failure}")
        return 0
    print(f"expected a failure with: {args.expect_failure}; got exit {code}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
