"""Turn the load processes' raw output into numbers, a Markdown report and a plot."""

import json
import statistics
from pathlib import Path

from bench.kinds import EXPECTED, LABELS

TARGET_P50_MS = 45
TARGET_SPEEDUP = 4
TARGET_BIG_RATIO = 1.5


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _round(value, digits=1):
    return None if value is None else round(value, digits)


def cell_metrics(cell: dict) -> dict:
    latencies = cell["latency_ms"]
    seq = cell["sequential"]
    requests = max(seq["requests"], 1)
    expected = EXPECTED.get(cell["name"])
    return {
        "requests": len(latencies),
        "rps": _round(len(latencies) / cell["wall_s"] if cell["wall_s"] else None),
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "mean_ms": _round(statistics.fmean(latencies) if latencies else None),
        "unexpected_statuses": sum(1 for s in cell["statuses"] if s != expected),
        "round_trips_per_request": _round(seq["round_trips"] / requests, 2),
        "connections_per_request": _round(seq["connections"] / requests, 2),
        "sequential_p50_ms": _round(percentile(seq["latency_ms"], 50)),
        "load_round_trips_per_request": _round(
            cell["load_round_trips"] / max(cell["load_requests"], 1), 2
        ),
        "load_connections_per_request": _round(
            cell["load_connections"] / max(cell["load_requests"], 1), 2
        ),
    }


def _count_statuses(outputs: dict, wanted) -> int:
    return sum(
        count
        for out in outputs.values()
        for status, count in out.get("status_counts", {}).items()
        if wanted(int(status))
    )


def summarize(
    *, meta, configs, outputs, explain, connections, notes, app_problems
) -> dict:
    results: dict = {}
    for cell in outputs.get("perf", {}).get("cells", []):
        per_delay = results.setdefault(cell["config"], {})
        per_delay.setdefault(str(cell["delay_ms"]), {})[cell["name"]] = cell_metrics(
            cell
        )

    summary = {
        "meta": meta,
        "configs": configs,
        "results": results,
        "notes": list(notes),
        "explain": explain,
        "connections": connections,
        "compare": _compare(outputs.get("perf", {}).get("compare")),
        "durability": _durability(outputs.get("durability")),
        "server_errors": _count_statuses(outputs, lambda status: status >= 500),
        # Connection closed or reset before any answer: the client cannot tell
        # whether the server got the request (a write's outcome is unknown).
        "no_response": _count_statuses(outputs, lambda status: status == 0),
        "no_response_details": [
            e
            for out in outputs.values()
            for e in out.get("server_errors", [])
            if e["status"] == 0
        ][:20],
        "app_problems": app_problems,
        "unexpected_statuses": {
            name: out.get("unexpected", {}) for name, out in outputs.items()
        },
    }
    summary["targets"] = _targets(summary)
    summary["failures"] = _failures(summary, outputs)
    return summary


def _compare(raw: dict | None) -> dict | None:
    if not raw:
        return None
    out = {}
    for page, roles in raw.items():
        big = percentile(roles["big"]["latency_ms"], 50)
        small = percentile(roles["small"]["latency_ms"], 50)
        out[page] = {
            "big_tasks": roles["big"]["tasks"],
            "small_tasks": roles["small"]["tasks"],
            "big_page": roles["big"]["page"],
            "small_page": roles["small"]["page"],
            "big_p50_ms": _round(big),
            "small_p50_ms": _round(small),
            "ratio": _round(big / small if big and small else None, 2),
            "samples": len(roles["big"]["latency_ms"]),
        }
    return out


def _durability(out: dict | None) -> dict | None:
    if not out:
        return None
    requests = out.get("requests", {})
    all_latencies = [ms for r in requests.values() for ms in r["latency_ms"]]
    verification = out.get("verification", {})
    return {
        "users": len(out.get("journals", [])),
        "seconds": _round(out.get("wall_s")),
        "requests": len(all_latencies),
        "rps": _round(
            len(all_latencies) / out["wall_s"] if out.get("wall_s") else None
        ),
        "p50_ms": _round(percentile(all_latencies, 50)),
        "p99_ms": _round(percentile(all_latencies, 99)),
        "login_s": _round(out.get("login_s")),
        "logins": len(out.get("login_ms", [])),
        "login_p50_ms": _round(percentile(out.get("login_ms", []), 50)),
        "by_request": {
            name: {
                "requests": len(r["latency_ms"]),
                "p50_ms": _round(percentile(r["latency_ms"], 50)),
                "p99_ms": _round(percentile(r["latency_ms"], 99)),
            }
            for name, r in sorted(requests.items())
        },
        "status_counts": out.get("status_counts", {}),
        **{k: v for k, v in verification.items() if k != "problems"},
        "problems": verification.get("problems", [])[:50],
        "problem_count": len(verification.get("problems", [])),
    }


def _metric(summary, config, delay, name, key):
    return summary["results"].get(config, {}).get(str(delay), {}).get(name, {}).get(key)


def _targets(summary: dict) -> list[dict]:
    delay = 10  # the targets are set at 10 ms; n/a when not measured
    users = summary["meta"]["concurrency"]
    targets = []
    for how, key in (
        ("one request at a time", "sequential_p50_ms"),
        (f"{users} concurrent users", "p50_ms"),
    ):
        chosen = _metric(summary, "chosen", delay, "list", key)
        naive = _metric(summary, "naive", delay, "list", key)
        targets.append(
            {
                "target": f"GET /tasks/ p50 at {delay} ms RTT, chosen configuration, "
                + how,
                "limit": f"<= {TARGET_P50_MS} ms",
                "value": None if chosen is None else f"{chosen} ms",
                "pass": None if chosen is None else chosen <= TARGET_P50_MS,
            }
        )
        ratio = naive / chosen if chosen and naive else None
        targets.append(
            {
                "target": f"GET /tasks/ p50 at {delay} ms RTT, naive / chosen, " + how,
                "limit": f">= {TARGET_SPEEDUP}x",
                "value": None
                if ratio is None
                else f"{ratio:.2f}x ({naive} / {chosen} ms)",
                "pass": None if ratio is None else ratio >= TARGET_SPEEDUP,
            }
        )
    compare = (summary.get("compare") or {}).get("first")
    ratio = compare and compare["ratio"]
    targets.append(
        {
            "target": "list p50 of the big user / a regular user (0 ms RTT)",
            "limit": f"<= {TARGET_BIG_RATIO}x",
            "value": None
            if not compare
            else f"{ratio}x ({compare['big_p50_ms']} / {compare['small_p50_ms']} ms)",
            "pass": None if not compare else ratio <= TARGET_BIG_RATIO,
        }
    )
    opened = [
        (
            delay_key,
            name,
            m["connections_per_request"],
            m["load_connections_per_request"],
        )
        for delay_key, cells in summary["results"].get("chosen", {}).items()
        for name, m in cells.items()
    ]
    worst = max((max(seq, load) for _, _, seq, load in opened), default=None)
    targets.append(
        {
            "target": "chosen configuration: new connections per request in steady "
            "state (every page, every delay, sequential and under load)",
            "limit": "0",
            "value": None if worst is None else f"max {worst}",
            "pass": None if worst is None else worst == 0,
        }
    )
    indexed = [q["uses_index"] for q in summary["explain"].get("queries", [])]
    targets.append(
        {
            "target": "EXPLAIN: the big user's list queries use an index",
            "limit": "index scans only",
            "value": f"{sum(indexed)} of {len(indexed)} task queries",
            "pass": bool(indexed) and all(indexed),
        }
    )
    return targets


def _failures(summary: dict, outputs: dict) -> list[str]:
    failures = []
    if summary["server_errors"]:
        failures.append(
            f"{summary['server_errors']} responses were 5xx "
            "(see server_errors in the raw output in bench/work/)"
        )
    failures += summary["app_problems"]
    durability = summary["durability"]
    if durability and durability["problem_count"]:
        failures.append(
            f"{durability['problem_count']} acknowledged writes are lost or wrong "
            "in the database"
        )
    for name, unexpected in summary["unexpected_statuses"].items():
        for request, statuses in unexpected.items():
            if name == "durability" and request == "edit_save":
                continue  # conflicts: reported, not a lost write
            failures.append(
                f"{name}: {request} answered {statuses} instead of {EXPECTED[request]}"
            )
    for name, out in outputs.items():
        if out.get("error"):
            failures.append(f"{name}: {out['error']}")
    return failures


# --- Markdown --------------------------------------------------------------------


def _fmt(value, suffix=""):
    return "-" if value is None else f"{value}{suffix}"


def _pass(value):
    return {True: "PASS", False: "FAIL", None: "n/a"}[value]


def markdown(summary: dict) -> str:
    meta = summary["meta"]
    configs = summary["configs"]
    sizes = meta["sizes"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `bench/run{' --quick' if meta['mode'] == 'quick' else ''}` "
        f"on {meta['date']} at commit `{meta['commit']}`"
        + (
            f" (with {meta['uncommitted_changes']} files changed in the working tree)"
            if meta.get("uncommitted_changes")
            else ""
        )
        + "; overwritten by every run. "
        "How to read this page: [bench/README.md](../README.md).",
        "",
        f"- Data set: {sizes['users']:,} users x {sizes['tasks_per_user']} tasks + "
        f"1 user x {sizes['big_user_tasks']:,} tasks ({sizes['total_tasks']:,} tasks).",
        f"- App: gunicorn, {meta['gunicorn']['workers']} workers x "
        f"{meta['gunicorn']['threads']} threads, DEBUG=false, through the latency "
        "proxy "
        "to PostgreSQL with TLS (sslmode=require) and SCRAM.",
        f"- Load: {meta['concurrency']} logged-in users per cell, each sending "
        f"{meta['requests_per_user']['read']} requests (reads) or "
        f"{meta['requests_per_user']['write']} (writes) back to back; round trips "
        f"and connections from batches of {meta['sequential']} sequential requests.",
        f"- Machine: {meta['machine']['cpus']} CPUs, "
        f"Python {meta['machine']['python']}, "
        f"{meta['machine']['platform']}. Load generator, app, proxy and database "
        "share it.",
        f"- Run time: {meta['timings_s'].get('total', 0):.0f} s "
        + "("
        + ", ".join(
            f"{k} {v:.0f} s" for k, v in meta["timings_s"].items() if k != "total"
        )
        + ").",
        "",
    ]
    for note in summary["notes"]:
        lines += [f"> Note: {note}", ""]
    if summary["no_response"]:
        lines += [
            f"> Note: {summary['no_response']} requests got no response (the "
            "connection closed before an answer; see `no_response_details` in "
            "results.json). Not a 5xx: typically gunicorn closing an idle "
            "keep-alive connection just as the client reuses it. A write among "
            "them has an unknown outcome, so the durability check accepts it "
            "either way.",
            "",
        ]
    if summary["failures"]:
        lines += ["## Failures", ""]
        lines += [f"- {f}" for f in summary["failures"]] + [""]

    lines += [
        "## Targets",
        "",
        "| target | limit | measured | result |",
        "|---|---|---|---|",
    ]
    for t in summary["targets"]:
        lines.append(
            f"| {t['target']} | {t['limit']} | {_fmt(t['value'])} | "
            f"**{_pass(t['pass'])}** |"
        )
    if meta["mode"] == "quick":
        lines += ["", "Quick mode reports the targets; it does not enforce them."]
    lines.append("")

    # The list page under each strategy.
    lines += [
        "## The list page under each connection strategy",
        "",
        "Round trips and new connections per `GET /tasks/`, counted by the proxy "
        "over sequential requests; p50 under load.",
        "",
        "| strategy | delay | round trips / request | connections / request | "
        "p50 | p95 | req/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for config, spec in configs.items():
        for delay in meta["delays_ms"]:
            m = summary["results"].get(config, {}).get(str(delay), {}).get("list")
            if not m:
                continue
            lines.append(
                f"| {spec['label']} | {delay} ms | {m['round_trips_per_request']} | "
                f"{m['connections_per_request']} | {m['p50_ms']} ms | "
                f"{m['p95_ms']} ms | {m['rps']} |"
            )
    lines += ["", _decision(summary), ""]
    if summary.get("connections"):
        lines += [
            "Connections the proxy saw over each configuration's whole run "
            "(login, warm-up and measurements included):",
            "",
            "| configuration | connections opened | round trips | round trips per "
            "connection (min / median / max) |",
            "|---|---|---|---|",
        ]
        for config, c in summary["connections"].items():
            per = c["round_trips_per_connection"]
            lines.append(
                f"| {configs[config]['label']} | {c['opened']} | {c['round_trips']} | "
                f"{per['min']} / {per['median']} / {per['max']} |"
            )
        lines.append("")

    # Every page.
    lines += ["## Every page, every delay", ""]
    for delay in meta["delays_ms"]:
        lines += [
            f"### {delay} ms round trip",
            "",
            "| request | configuration | req/s | p50 | p95 | p99 | round trips / req | "
            "connections / req | sequential p50 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        names = []
        for config in configs:
            for name in summary["results"].get(config, {}).get(str(delay), {}):
                if name not in names:
                    names.append(name)
        for name in names:
            for config, spec in configs.items():
                m = summary["results"].get(config, {}).get(str(delay), {}).get(name)
                if not m:
                    continue
                flag = (
                    f" ({m['unexpected_statuses']} unexpected)"
                    if m["unexpected_statuses"]
                    else ""
                )
                lines.append(
                    f"| {LABELS.get(name, name)} | {spec['label']} | "
                    f"{m['rps']}{flag} | "
                    f"{m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} | "
                    f"{m['round_trips_per_request']} | "
                    f"{m['connections_per_request']} | "
                    f"{m['sequential_p50_ms']} |"
                )
        lines.append("")
    lines += _ratios(summary)

    compare = summary["compare"]
    if compare:
        lines += [
            "## A user with many tasks",
            "",
            "The same list page for the big user and for a regular user, sequential "
            "requests at 0 ms, chosen configuration.",
            "",
            "| page | big user | regular user | big p50 | regular p50 | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for page, c in compare.items():
            lines.append(
                f"| {page} | page {c['big_page']} of {c['big_tasks']:,} tasks | "
                f"page {c['small_page']} of {c['small_tasks']} tasks | "
                f"{c['big_p50_ms']} ms | {c['small_p50_ms']} ms | {c['ratio']}x |"
            )
        lines.append("")

    explain = summary["explain"]
    if explain.get("queries"):
        lines += [
            "## EXPLAIN of the list page for the big user",
            "",
            "Queries captured while rendering the page in-process (queries per "
            "page: "
            + ", ".join(f"{k} {v}" for k, v in explain.get("query_counts", {}).items())
            + "), then run with `EXPLAIN (ANALYZE, BUFFERS)`.",
            "",
        ]
        for q in explain["queries"]:
            lines += [
                f"**{q['label']}** ({q['path']}; index used: "
                f"{'yes' if q['uses_index'] else 'NO'})",
                "",
                "```sql",
                q["sql"],
                "```",
                "",
                "```",
                q["plan"],
                "```",
                "",
            ]

    d = summary["durability"]
    if d:
        lines += [
            "## Durability under load",
            "",
            f"{d['users']} logged-in users for {d['seconds']} s at 0 ms, chosen "
            f"configuration: {d['requests']:,} requests ({d['rps']} req/s, p50 "
            f"{d['p50_ms']} ms, p99 {d['p99_ms']} ms). Every write the app "
            "acknowledged (a redirect after the POST) was then looked up in the "
            "database.",
            "",
            "| check | count |",
            "|---|---|",
            f"| acknowledged creates | {d.get('acknowledged_creates', 0)} |",
            f"| acknowledged edits | {d.get('acknowledged_edits', 0)} |",
            f"| acknowledged toggles | {d.get('acknowledged_toggles', 0)} |",
            f"| acknowledged deletes | {d.get('acknowledged_deletes', 0)} |",
            f"| tasks checked in the database | {d.get('tasks_checked', 0)} |",
            f"| lost or wrong | **{d['problem_count']}** |",
            f"| 5xx (whole run) | **{summary['server_errors']}** |",
            f"| no response: connection closed before an answer (whole run) | "
            f"{summary['no_response']} |",
            f"| edit conflicts (form shown again) | {d.get('edit_conflicts', 0)} |",
            f"| logins at the start ({d['logins']} at once), p50 | "
            f"{_fmt(d['login_p50_ms'], ' ms')} |",
            f"| writes without an answer | {d.get('unacknowledged', 0)} |",
            "",
            "| request | count | p50 | p99 |",
            "|---|---|---|---|",
        ]
        for name, r in d["by_request"].items():
            lines.append(
                f"| {LABELS.get(name, name)} | {r['requests']} | {r['p50_ms']} ms | "
                f"{r['p99_ms']} ms |"
            )
        lines.append("")
    lines += ["## Plot", "", "![benchmark plot](bench.png)", ""]
    return "\n".join(lines)


def _decision(summary: dict) -> str:
    delays = summary["meta"]["delays_ms"]
    delay = max(delays)
    get = lambda c, k: _metric(summary, c, delay, "list", k)  # noqa: E731
    parts = []
    for config in ("naive", "persistent", "chosen"):
        rt = get(config, "round_trips_per_request")
        conn = get(config, "connections_per_request")
        if rt is not None:
            parts.append(
                f"{summary['configs'][config]['label']}: {rt} round trips and "
                f"{conn} new connections per page"
            )
    text = "Measured: " + "; ".join(parts) + "." if parts else ""
    seq = get("chosen", "sequential_p50_ms")
    rt = get("chosen", "round_trips_per_request")
    idle = _metric(summary, "chosen", min(delays), "list", "sequential_p50_ms")
    if seq is not None and rt is not None and delay:
        network = rt * delay
        text += (
            f" Where the chosen configuration's time goes at {delay} ms: one "
            f"request at a time takes {seq} ms, of which {network:g} ms are its "
            f"{rt:g} round trips and about {seq - network:.0f} ms the app's own "
            f"work (the same page takes {idle} ms at {min(delays)} ms)."
        )
    return (
        text + " Decision: a connection pool whose liveness check polls the socket "
        "(no query) keeps the connection open across requests like persistent "
        "connections do, without the `SELECT 1` a health check spends on every "
        "request, and without the TCP, TLS and SCRAM handshakes a new connection "
        "costs; that is the project's configuration (`todoproject.neon`)."
    )


def _ratios(summary: dict) -> list[str]:
    results = summary["results"]
    if "chosen" not in results or "naive" not in results:
        return []
    delays = summary["meta"]["delays_ms"]
    lines = [
        "### Chosen vs naive, side by side",
        "",
        "How many times faster the chosen configuration is: naive p50 / chosen p50 "
        "under load and one request at a time, and chosen req/s / naive req/s.",
        "",
        "| request | "
        + " | ".join(
            f"{d} ms p50 | {d} ms p50, one at a time | {d} ms req/s" for d in delays
        )
        + " |",
        "|---|" + "---|---|---|" * len(delays),
    ]
    names = [
        name
        for name in results["chosen"].get(str(delays[0]), {})
        if name in results["naive"].get(str(delays[0]), {})
    ]
    for name in names:
        row = [LABELS.get(name, name)]
        for delay in delays:
            c = results["chosen"].get(str(delay), {}).get(name)
            n = results["naive"].get(str(delay), {}).get(name)
            if not c or not n:
                row += ["-", "-", "-"]
                continue
            for key in ("p50_ms", "sequential_p50_ms"):
                row.append(f"{n[key] / c[key]:.2f}x" if c[key] and n[key] else "-")
            row.append(f"{c['rps'] / n['rps']:.2f}x" if n["rps"] else "-")
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


# --- plot ----------------------------------------------------------------------------


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = summary["results"]
    configs = [c for c in summary["configs"] if c in results]
    labels = {c: summary["configs"][c]["label"] for c in configs}
    delays = summary["meta"]["delays_ms"]
    top = str(max(delays))
    names = list(results.get("chosen", results.get(configs[0], {})).get(top, {}))

    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    ax = axes[0][0]
    for config in configs:
        xs = [d for d in delays if results[config].get(str(d), {}).get("list")]
        ax.plot(
            xs,
            [results[config][str(d)]["list"]["p50_ms"] for d in xs],
            marker="o",
            label=labels[config],
        )
    ax.set_prop_cycle(None)
    for config in configs:
        xs = [d for d in delays if results[config].get(str(d), {}).get("list")]
        ax.plot(
            xs,
            [results[config][str(d)]["list"]["sequential_p50_ms"] for d in xs],
            marker=".",
            linestyle=":",
            label=f"{labels[config]}, one at a time",
        )
    ax.axhline(
        TARGET_P50_MS, color="grey", linestyle="--", label=f"target {TARGET_P50_MS} ms"
    )
    ax.set(
        title=f"GET /tasks/ p50: {summary['meta']['concurrency']} users (solid), "
        "one request at a time (dotted)",
        xlabel="round-trip time (ms)",
        ylabel="p50 (ms)",
    )
    ax.legend(fontsize="small")

    def bars(ax, key, title, ylabel, delay=top):
        width = 0.8 / max(len(configs), 1)
        for i, config in enumerate(configs):
            values = [
                (results[config].get(delay, {}).get(n) or {}).get(key) or 0
                for n in names
            ]
            ax.bar(
                [x + i * width for x in range(len(names))],
                values,
                width,
                label=labels[config],
            )
        ax.set_xticks([x + width * (len(configs) - 1) / 2 for x in range(len(names))])
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.set(title=title, ylabel=ylabel)
        ax.legend(fontsize="small")

    bars(axes[0][1], "p50_ms", f"p50 latency per request at {top} ms RTT", "ms")
    bars(axes[1][0], "rps", f"throughput at {top} ms RTT", "requests / s")
    bars(
        axes[1][1],
        "round_trips_per_request",
        "database round trips per request (+ new connections: see table)",
        "round trips",
    )
    fig.suptitle(
        f"todo app bench ({summary['meta']['mode']}, {summary['meta']['date']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(summary: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
    (directory / "README.md").write_text(markdown(summary))
    plot(summary, directory / "bench.png")


def print_summary(summary: dict) -> None:
    print("\n== Summary")
    configs = summary["configs"]
    print(
        f"  {'request':<32} {'configuration':<36} {'delay':>5} {'req/s':>7} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'RT/req':>6} {'conn/req':>8}"
    )
    for config, spec in configs.items():
        for delay, cells in summary["results"].get(config, {}).items():
            for name, m in cells.items():
                print(
                    f"  {LABELS.get(name, name):<32} {spec['label']:<36} {delay:>5} "
                    f"{_fmt(m['rps']):>7} {_fmt(m['p50_ms']):>7} "
                    f"{_fmt(m['p95_ms']):>7} "
                    f"{_fmt(m['p99_ms']):>7} {_fmt(m['round_trips_per_request']):>6} "
                    f"{_fmt(m['connections_per_request']):>8}"
                )
    if summary["compare"]:
        for page, c in summary["compare"].items():
            print(
                f"  big user vs regular user, {page} page: {c['big_p50_ms']} ms vs "
                f"{c['small_p50_ms']} ms ({c['ratio']}x)"
            )
    d = summary["durability"]
    if d:
        print(
            f"  durability: {d['requests']} requests, "
            f"{d.get('acknowledged_creates', 0)} acknowledged creates, "
            f"{d['problem_count']} lost or wrong writes"
        )
    print(
        f"  5xx: {summary['server_errors']}; no response (connection closed "
        f"before an answer): {summary['no_response']}"
    )
    print("\n== Targets")
    for t in summary["targets"]:
        print(
            f"  {_pass(t['pass']):<4}  {t['target']}: {_fmt(t['value'])} ({t['limit']})"
        )
    if summary["failures"]:
        print("\n== FAILED")
        for f in summary["failures"]:
            print(f"  {f}")
