"""The results: targets, a table per delay, results.json and a plot."""

import json
from pathlib import Path

from bench.pages import LABELS, SEARCH_WORD

TARGET_DELAY_MS = 10
TARGET_P50_MS = 45
TARGET_SPEEDUP = 4
TARGET_BIG_RATIO = 1.5
TARGET_SEARCH_RATIO = 2
TARGET_DUE_RATIO = 1.5
COLUMNS = [
    ("rps", "req/s"),
    ("p50_ms", "p50"),
    ("p95_ms", "p95"),
    ("p99_ms", "p99"),
    ("round_trips_per_request", "round trips / req"),
    ("connections_per_request", "connections / req"),
    ("sequential_p50_ms", "one at a time p50"),
    ("cpu_ms", "app CPU / req"),
    ("sequential_cpu_ms", "one at a time app CPU / req"),
]


def _cell(results: dict, config: str, delay, name: str) -> dict:
    for cell in results["cells"]:
        if (cell["config"], cell["delay_ms"], cell["name"]) == (config, delay, name):
            return cell
    return {}


def _row(what: str, limit: str, top, bottom=None) -> tuple:
    """A target: ``top`` ms, or ``top / bottom``, against ``limit`` ("<= 45 ms")."""
    if not top or (bottom is not None and not bottom):
        return (what, limit, "-", None)
    value, bound = top / (bottom or 1), float(limit.split()[1].rstrip("msx"))
    shown = f"{value:.2f}x ({top:.1f} / {bottom:.1f} ms)" if bottom else f"{top:.1f} ms"
    return (what, limit, shown, value <= bound if limit[0] == "<" else value >= bound)


def targets(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, limit, measured, passed) rows; passed None: not measured."""
    rows = []
    for how, key in (
        ("one request at a time", "sequential_p50_ms"),
        (f"{results['meta']['concurrency']} users at once", "p50_ms"),
    ):
        chosen = _cell(results, "chosen", TARGET_DELAY_MS, "list").get(key)
        naive = _cell(results, "naive", TARGET_DELAY_MS, "list").get(key)
        what = f"GET /tasks/ p50 at {TARGET_DELAY_MS} ms RTT, {how}"
        rows.append(_row(f"{what}, chosen", f"<= {TARGET_P50_MS} ms", chosen))
        speedup = f">= {TARGET_SPEEDUP}x"
        rows.append(_row(f"{what}, naive / chosen", speedup, naive, chosen))
    compare = results.get("compare") or {}
    if compare:
        big, small = compare["first"]["big"], compare["first"]["small"]
        what = f"the user with {big['tasks']:,} tasks"
        rows.append(
            _row(
                f"GET /tasks/ p50 of {what} / a user with {small['tasks']} "
                "(0 ms, one at a time)",
                f"<= {TARGET_BIG_RATIO}x",
                big["p50_ms"],
                small["p50_ms"],
            )
        )
        for page, query, limit in (
            ("search", f"q={SEARCH_WORD}", TARGET_SEARCH_RATIO),
            ("due", "due=today", TARGET_DUE_RATIO),
        ):
            if page in compare:
                what_page = f"GET /tasks/?{query} p50 / GET /tasks/ p50, {what}"
                rows.append(
                    _row(
                        f"{what_page} (0 ms, one at a time)",
                        f"<= {limit}x",
                        compare[page]["big"]["p50_ms"],
                        big["p50_ms"],
                    )
                )
    opened = [
        max(c["connections_per_request"], c.get("load_connections_per_request", 0))
        for c in results["cells"]
        if c["config"] == "chosen"
    ]
    rows.append(
        (
            "chosen: new connections per request in steady state (every page "
            "and delay, one at a time and under load)",
            "0",
            f"max {max(opened):g}" if opened else "-",
            max(opened) == 0 if opened else None,
        )
    )
    return rows


def _number(value) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def markdown(results: dict) -> str:
    meta, sizes = results["meta"], results["meta"]["sizes"]
    load = meta["load_average"]
    lines = [
        "# Benchmark results",
        "",
        f"`bench/run{' --quick' if meta['mode'] == 'quick' else ''}`, {meta['date']}, "
        f"commit `{meta['commit']}`; how to read it: [bench/README.md](../README.md).",
        "",
        "| | |",
        "|---|---|",
        f"| data set | {sizes['users']:,} users x {sizes['tasks_per_user']} tasks + "
        f"1 user x {sizes['big_user_tasks']:,} ({sizes['total_tasks']:,} tasks) |",
        f"| app | gunicorn {meta['gunicorn']['workers']} workers x "
        f"{meta['gunicorn']['threads']} threads, DEBUG=false, TLS + SCRAM |",
        f"| load | {meta['concurrency']} Locust users, {meta['seconds']:g} s per cell; "
        f"{meta['sequential']} requests one at a time |",
        f"| machine | {meta['machine']} |",
        "| load average (1, 5, 15 min) | {:.2f}, {:.2f}, {:.2f} at the start, "
        "{:.2f}, {:.2f}, {:.2f} at the end |".format(*load["start"], *load["end"]),
        "| run time | "
        + ", ".join(f"{k} {v:.0f} s" for k, v in meta["timings_s"].items())
        + " |",
        "",
    ]
    if results["failures"]:
        lines += ["## Failures", "", *[f"- {f}" for f in results["failures"]], ""]
    lines += [
        "## Targets",
        "",
        "| target | limit | measured | result |",
        "|---|---|---|---|",
    ]
    for target, limit, value, passed in targets(results):
        result = {True: "PASS", False: "FAIL", None: "n/a"}[passed]
        lines.append(f"| {target} | {limit} | {value} | **{result}** |")
    lines += ["", "## Every page, every delay (ms)", ""]
    header = "| request | configuration | " + " | ".join(h for _, h in COLUMNS) + " |"
    rule = "|---|---|" + "---|" * len(COLUMNS)
    for delay in meta["delays_ms"]:
        lines += [f"### {delay} ms round trip", "", header, rule]
        cells = [c for c in results["cells"] if c["delay_ms"] == delay]
        names = list(dict.fromkeys(c["name"] for c in cells))
        for cell in sorted(cells, key=lambda c: names.index(c["name"])):
            values = " | ".join(_number(cell.get(key)) for key, _ in COLUMNS)
            lines.append(f"| {LABELS[cell['name']]} | {cell['config']} | {values} |")
        lines.append("")
    return "\n".join([*lines, "![benchmark plot](bench.png)", ""])


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells, delays = results["cells"], results["meta"]["delays_ms"]
    configs = list(dict.fromkeys(c["config"] for c in cells))
    top = max(delays)
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.5))
    for config in configs:
        for key, style in (("p50_ms", "-"), ("sequential_p50_ms", ":")):
            points = [(d, _cell(results, config, d, "list").get(key)) for d in delays]
            points = [(d, v) for d, v in points if v is not None]
            label = f"{config}, {'under load' if style == '-' else 'one at a time'}"
            axes[0].plot(*zip(*points, strict=True), style, marker="o", label=label)
    axes[0].axhline(TARGET_P50_MS, color="grey", linestyle="--", label="target")
    axes[0].set(title="GET /tasks/ p50", xlabel="round-trip time (ms)", ylabel="ms")
    axes[0].legend(fontsize="small")
    names = list(dict.fromkeys(c["name"] for c in cells))
    width = 0.8 / len(configs)
    for ax, key, title in (
        (axes[1], "p50_ms", f"p50 under load at {top} ms RTT (ms)"),
        (axes[2], "round_trips_per_request", "round trips per request"),
    ):
        for i, config in enumerate(configs):
            values = [_cell(results, config, top, n).get(key) or 0 for n in names]
            ax.bar(
                [x + i * width for x in range(len(names))], values, width, label=config
            )
        ticks = [x + 0.4 - width / 2 for x in range(len(names))]
        ax.set_xticks(ticks, names, rotation=30, ha="right")
        ax.set(title=title)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results)
    (directory / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (directory / "README.md").write_text(markdown(results))
    plot(results, directory / "bench.png")
    print("\n== Targets")
    for target, limit, value, passed in results["targets"]:
        result = {True: "PASS", False: "FAIL", None: "n/a"}[passed]
        print(f"  {result:<4} {target}: {value} ({limit})")
    for failure in results["failures"]:
        print(f"  FAILED: {failure}")
