#!/usr/bin/env python3
"""The pinned, open-loop load test (scripts/loadtest.sh --pinned).

  bench/pinned_loadtest.py MODEL TEST [--rates 1000,2000] [--saturation-rate 8000]
      [--seconds 20] [--runs 3] [--concurrency 256] [--redis] [serve flags...]

--redis: the sessions in a Redis (redis-server started on the load generator's cores, no
persistence) instead of the server's memory.

The server runs on the first core of this process's affinity mask (taskset, one event loop),
the load generator (gru4rec replay --rate, open loop) on the others, so that nothing shares the
server's core. Before the runs it prints the floor of the model on that core (gru4rec info
--floor); then, per offered rate, each run's achieved rate and latency percentiles (from when
each event was due) and their medians; the saturation row offers more than the core can serve
and reports what it achieved. Every figure is also given as a multiple of the floor: latency
over the floor of one event, throughput over what the floor allows for batches of the mean
size the server formed (its /metrics: passes over the item matrix and requests scored). "cpu":
the server's CPU time over the run's wall time (100%: its core never waited).
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

CLI = os.environ.get("GRU4REC_CLI", "build/cli/gru4rec")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_seconds(pid):
    """User and system CPU time of a process so far (the server's busy time on its core)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replay(port, test, rate, seconds, concurrency, cores):
    cmd = ["taskset", "-c", cores, CLI, "replay", test, "--server", f"http://127.0.0.1:{port}",
           "--rate", str(rate), "--duration", str(seconds), "--concurrency", str(concurrency),
           "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"replay failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return json.loads(out.stdout[out.stdout.index("{"):])["replayed"]


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    model, test = args[0], args[1]
    options = {"--rates": "1000,2000", "--saturation-rate": "8000", "--seconds": "20",
               "--runs": "3", "--concurrency": "256"}
    serve_flags = []
    use_redis = False
    i = 2
    while i < len(args):
        if args[i] == "--redis":
            use_redis = True
            i += 1
        elif args[i] in options and i + 1 < len(args):
            options[args[i]] = args[i + 1]
            i += 2
        else:
            serve_flags.append(args[i])
            i += 1
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        sys.exit("the pinned load test needs 2 cores at least (server on one, load on the rest)")
    server_core, load_cores = str(allowed[0]), ",".join(str(c) for c in allowed[1:])
    seconds, runs = float(options["--seconds"]), int(options["--runs"])
    concurrency = int(options["--concurrency"])

    floor = json.loads(subprocess.run(
        ["taskset", "-c", server_core, CLI, "info", model, "--floor", "--json"],
        capture_output=True, text=True, check=True).stdout)
    weights = "float32"
    for j, flag in enumerate(serve_flags):
        if flag == "--item-weights" and j + 1 < len(serve_flags):
            weights = serve_flags[j + 1]
        elif flag.startswith("--item-weights="):
            weights = flag.split("=", 1)[1]
    event_floor_ms = floor["event_floor_seconds"] * 1e3
    print(f"CPU: {floor['cpu']}, library copy {floor['library']}")
    print(f"Server on core {server_core} (--io-threads 1), load generator on cores {load_cores}")
    print(f"One core: {floor['dram_gb_per_s']:.1f} GB/s from DRAM, {floor['l3_gb_per_s']:.1f} "
          f"GB/s from L3, FMA peak {floor['fma_gflops']:.1f} GFLOP/s")
    print(f"Floor of one event (float32, DRAM + FMA): {event_floor_ms:.3f} ms")
    print(f"Model {model}, item weights {weights}, serve flags: {' '.join(serve_flags) or '-'}")

    def floor_rate(batch, from_l3):
        rows = [r for r in floor["batches"] if r["item_weights"] == weights]
        below = [r for r in rows if r["batch"] <= batch] or rows[:1]
        above = [r for r in rows if r["batch"] >= batch] or rows[-1:]
        lo, hi = below[-1], above[0]
        key = "l3_events_per_second" if from_l3 else "dram_events_per_second"
        if hi["batch"] == lo["batch"]:
            return lo[key]
        t = (batch - lo["batch"]) / (hi["batch"] - lo["batch"])
        return lo[key] + t * (hi[key] - lo[key])

    redis = None
    if use_redis:
        redis_port = free_port()
        redis = subprocess.Popen(
            ["taskset", "-c", load_cores, "redis-server", "--port", str(redis_port), "--save", "",
             "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        serve_flags += ["--session-store", f"redis://127.0.0.1:{redis_port}"]
        print(f"Sessions in Redis on 127.0.0.1:{redis_port} (cores {load_cores})")
    port = free_port()
    os.makedirs("build/loadtest", exist_ok=True)
    log = open("build/loadtest/pinned-server.log", "w")
    server = subprocess.Popen(
        ["taskset", "-c", server_core, CLI, "serve", model, "--port", str(port),
         "--io-threads", "1"] + serve_flags, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Up to 10 minutes: an approximate index of a million items builds for a minute or two
        # on the server's one core before the server is ready.
        started = time.monotonic()
        while time.monotonic() - started < 600 and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1)
                print(f"Server ready after {time.monotonic() - started:.1f} s")
                break
            except OSError:
                time.sleep(0.1)
        else:
            log.flush()
            with open("build/loadtest/pinned-server.log") as f:
                sys.exit("the server did not become ready:\n" + f.read()[-2000:])
        replay(port, test, 1000, 3, concurrency, load_cores)  # warm-up, not reported
        rates = [float(r) for r in options["--rates"].split(",") if r]
        rows = [(r, False) for r in rates] + [(float(options["--saturation-rate"]), True)]
        print(f"\nOpen loop, {seconds:g} s per run, {runs} runs, {concurrency} connections; "
              "latency from when each event was due (ms)")
        print(f"{'offered':>8} {'run':>4} {'achieved':>9} {'p50':>7} {'p90':>7} {'p99':>7} "
              f"{'p99.9':>7} {'failed':>6} {'batch':>6} {'cpu':>6}")
        summary = []
        for rate, saturation in rows:
            results = []
            for run in range(runs):
                passes, scored = metric(port, "gru4rec_scoring_passes_total"), metric(
                    port, "gru4rec_scored_requests_total")
                cpu, wall = cpu_seconds(server.pid), time.monotonic()
                r = replay(port, test, rate, seconds, concurrency, load_cores)
                busy = 100 * (cpu_seconds(server.pid) - cpu) / (time.monotonic() - wall)
                passes = metric(port, "gru4rec_scoring_passes_total") - passes
                scored = metric(port, "gru4rec_scored_requests_total") - scored
                # Over the whole run: a saturated server answers its backlog after the
                # sending time, at the rate it can.
                achieved = r["events_per_second"]
                batch = scored / passes if passes else 0
                lat = r["latency_ms"]
                results.append((achieved, lat["p50"], lat["p90"], lat["p99"], lat["p99.9"],
                                r["failed_requests"], batch, busy))
                print(f"{rate:>8.0f} {run + 1:>4} {achieved:>9.0f} {lat['p50']:>7.2f} "
                      f"{lat['p90']:>7.2f} {lat['p99']:>7.2f} {lat['p99.9']:>7.2f} "
                      f"{r['failed_requests']:>6} {batch:>6.2f} {busy:>5.0f}%")
            med = [statistics.median(x[c] for x in results) for c in range(8)]
            summary.append((rate, saturation, med))
        print("\nMedians of the runs, and as multiples of the floor")
        for rate, saturation, med in summary:
            achieved, p50, _, p99, _, failed, batch, busy = med
            label = "saturation" if saturation else f"{rate:.0f}/s"
            # No pass over the item matrix (approximate retrieval): the exact floor does not
            # apply.
            exact = batch > 0
            floor_text = f" ({p50 / event_floor_ms:.1f}x the floor of one event)" if exact else ""
            line = (f"{label:>11}: achieved {achieved:.0f} events/s ({100 * achieved / rate:.1f}% "
                    f"of offered), p50 {p50:.2f} ms{floor_text}, p99 {p99:.2f} ms, mean batch "
                    f"{batch:.2f}, server core busy {busy:.0f}%, {failed:.0f} failed")
            if saturation and exact:
                dram, l3 = floor_rate(batch, False), floor_rate(batch, True)
                line += (f"; the floor allows {dram:.0f} (DRAM) to {l3:.0f} (L3) events/s for "
                         f"batches of {batch:.1f}: {100 * achieved / dram:.0f}% / "
                         f"{100 * achieved / l3:.0f}%")
            print(line)
    finally:
        for process in (server, redis):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
