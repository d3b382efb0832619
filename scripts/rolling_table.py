"""Markdown tables of bench/rolling_eval's JSON files (scripts/rolling-eval.sh)."""
import json
import sys


def table(path):
    run = json.load(open(path))
    days = run["days"]
    print(f"{path}: {run['periods']} periods ({run['period_kind']}), initial model on "
          f"{run['initial']}, updates of {run['update_epochs']} epochs (optimizer state "
          f"{run.get('optimizer_state', 'carried on')}); `{run['params']}`\n")
    print("| period | events | new items (never / warm) | Recall@20 never / warm / scratch "
          "| MRR@20 never / warm / scratch | seconds warm / scratch |")
    print("|---|---|---|---|---|---|")
    for d in days:
        n, w, s = d["never"], d["warm"], d["scratch"]
        print(f"| {d['period']} | {d['events']:,} | {100 * n['new_item_share']:.2f}% / "
              f"{100 * w['new_item_share']:.2f}% | {n['recall@20']:.4f} / {w['recall@20']:.4f} / "
              f"{s['recall@20']:.4f} | {n['mrr@20']:.4f} / {w['mrr@20']:.4f} / {s['mrr@20']:.4f} "
              f"| {d['warm_seconds']:.1f} / {d['scratch_seconds']:.1f} |")
    updated = days[1:]  # the first period is evaluated before any update: all three are equal
    mean = lambda kind, key: sum(d[kind][key] for d in updated) / len(updated)
    warm_s = sum(d["warm_seconds"] for d in updated)
    scratch_s = sum(d["scratch_seconds"] for d in updated)
    for key in ("recall@20", "mrr@20"):
        w, s, n = mean("warm", key), mean("scratch", key), mean("never", key)
        print(f"\nMean {key} over the {len(updated)} updated periods: never {n:.4f}, warm "
              f"{w:.4f}, scratch {s:.4f}; warm / scratch = {w / s:.4f}", end="")
    print(f"\nTraining time of the updates: warm {warm_s:.1f} s, scratch {scratch_s:.1f} s "
          f"(warm takes {100 * warm_s / scratch_s:.1f}% of the time)\n")


for path in sys.argv[1:]:
    table(path)
