"""Collect every benchmark's results into one table: bench/results/summary.{md,json}."""

from __future__ import annotations

import json

from bench.common import RESULTS

ORDER = (
    "store",
    "accounts",
    "audit",
    "valuation",
    "risk",
    "liquidation",
    "lending",
    "scaling",
    "snapshots",
    "load",
)


def main() -> None:
    reports = [
        json.loads((RESULTS / f"{name}.json").read_text())
        for name in ORDER
        if (RESULTS / f"{name}.json").exists()
    ]
    lines = ["# Harbour Ledger benchmarks", ""]
    if reports:
        env = reports[0]["environment"]
        lines += [f"_{', '.join(f'{k}: {v}' for k, v in env.items())}_", ""]
    lines += [
        "| benchmark | scenario | events/s | compared with | note |",
        "|---|---|---:|---|---|",
    ]
    for report in reports:
        rates = {row["scenario"]: row["events_per_second"] for row in report["rows"]}
        for row in report["rows"]:
            versus = ""
            if row["baseline"]:
                versus = (
                    f"{row['events_per_second'] / rates[row['baseline']]:.2f}x {row['baseline']}"
                )
            lines.append(
                f"| {report['title']} | {row['scenario']} | {row['events_per_second']:,.0f} "
                f"| {versus} | {row['note']} |"
            )
    lines += ["", "| target | measured | required | |", "|---|---:|---:|---|"]
    for report in reports:
        for t in report["targets"]:
            lines.append(
                f"| {report['title']}: {t['name']} | {t['measured']:,.2f} {t['unit']} "
                f"| {t['required']:,.2f} {t['unit']} | {'PASS' if t['met'] else 'MISS'} |"
            )
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "summary.json").write_text(json.dumps(reports, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
