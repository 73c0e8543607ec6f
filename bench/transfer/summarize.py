#!/usr/bin/env python3
"""Medians per tool and file from run.sh's results.tsv, as a markdown table plus the ratios docs/benchmarks.md quotes."""
import csv
import statistics
import sys

path, size = sys.argv[1], int(sys.argv[2])
load_start, load_end = sys.argv[3], sys.argv[4]
rows = list(csv.DictReader(open(path), delimiter="\t"))
groups = {}
for r in rows:
    groups.setdefault((r["tool"], r["file"]), []).append(r)


def med(values):
    values = [float(v) for v in values if v not in ("", None)]
    return statistics.median(values) if values else None


summary = {}
print(f"\n{size / 2**30:g} GiB per transfer, {len({r['round'] for r in rows})} rounds, medians; load average {load_start.split()[0]}–{load_end.split()[0]} (1 min, start–end)\n")
print("| tool | file | MB/s (median) | range MB/s | wall s | client CPU s | server CPU s | server peak RSS MiB |")
print("|---|---|---:|---|---:|---:|---:|---:|")
for (tool, file), rs in groups.items():
    wall = med(r["wall_s"] for r in rs)
    rates = sorted(size / float(r["wall_s"]) / 1e6 for r in rs)
    mbps = size / wall / 1e6
    summary[(tool, file)] = mbps
    rss = [int(r["server_peak_rss_kib"]) for r in rs if r["server_peak_rss_kib"]]
    client = med(r["client_cpu_s"] for r in rs)
    server = med(r["server_cpu_s"] for r in rs)
    print(f"| {tool} | {file} | {mbps:.0f} | {rates[0]:.0f}–{rates[-1]:.0f} | {wall:.2f} | {client:.2f} | {server:.2f} | {max(rss) / 1024:.0f} |" if rss else
          f"| {tool} | {file} | {mbps:.0f} | {rates[0]:.0f}–{rates[-1]:.0f} | {wall:.2f} | {client:.2f} | {server:.2f} | – |")


def ratio(a, b, file="random.bin"):
    x, y = summary.get((a, file)), summary.get((b, file))
    return f"{x / y:.2f}" if x and y else "–"


def paired(a, b, file="random.bin"):
    """Median over rounds of the ratio within one round: robust to load that drifts between rounds."""
    wall = {(r["tool"], r["round"]): float(r["wall_s"]) for r in rows if r["file"] == file}
    ratios = [wall[(b, n)] / wall[(a, n)] for (t, n) in wall if t == a and (b, n) in wall]
    return f"{statistics.median(ratios):.2f}" if ratios else "–"


print("\n| ratio (same run) | random.bin: of medians | random.bin: median per round | historian.csv: of medians | historian.csv: median per round |")
print("|---|---:|---:|---:|---:|")
for label, a, b in [
    ("push ÷ scp upload", "push", "scp aes256-gcm upload"),
    ("push ÷ curl PUT → nginx", "push", "curl PUT → nginx TLS 1.3"),
    ("push (4 conn.) ÷ sink c4", "push", "sink c4"),
    ("push c1 ÷ sink c1", "push c1", "sink c1"),
    ("push c2 ÷ sink c2", "push c2", "sink c2"),
    ("push c8 ÷ sink c8", "push c8", "sink c8"),
    ("push --verify sha256 ÷ scp upload", "push verify-sha256", "scp aes256-gcm upload"),
    ("push --http 2 ÷ push (HTTP/1.1)", "push http2", "push"),
    ("pull ÷ scp download", "pull", "scp aes256-gcm download"),
    ("curl → turbomft one-shot ÷ curl → nginx", "curl -T one-shot PUT", "curl PUT → nginx TLS 1.3"),
]:
    r1, r2 = ratio(a, b), ratio(a, b, "historian.csv")
    if r1 != "–" or r2 != "–":
        print(f"| {label} | {r1} | {paired(a, b)} | {r2} | {paired(a, b, 'historian.csv')} |")
