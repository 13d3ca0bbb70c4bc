"""EOS phase 3's grid in a built quick book: which learning rate x epochs the validation split chose (per
sampler and head, at the validation-best epoch) and what the two EOS comparisons read under each specification.

    python benchmarks/eos_grid_summary.py RUN_STORE BOOK_RUNS_DIR     (e.g. runs book/runs/quick)
"""
import json, glob, csv, sys
from collections import Counter, defaultdict
store, book = sys.argv[1], sys.argv[2]
pts = Counter(); fixed_chosen = 0; total = 0; gains = []
for f in sorted(glob.glob(f"{store}/fashion-mnist/quick/ratio=100-exp/loss=*/seed=*/derived/eos-grid.json")):
    if "procrustean" in f: continue
    rows = json.load(open(f))["value"]
    by = defaultdict(list)
    for r in rows: by[(r["sampler"], r["phase3"])].append(r)
    for (s, h), rs in by.items():
        ch = next(r for r in rs if r["chosen"]); fx = next(r for r in rs if r["fixed"])
        pts[(h, ch["lr"], ch["epochs"])] += 1; total += 1; fixed_chosen += ch["fixed"]
        gains.append(100 * (ch["bac"] - fx["bac"]))
print(f"grid points chosen on the validation split (validation-best epoch, 4 losses x 3 seeds x 4 samplers x 2 heads = {total}):")
for (h, lr, ep), n in sorted(pts.items()): print(f"  {h:10s} lr {lr:<6g} {ep:>2d} epochs: {n}")
print(f"  the fixed schedule chosen: {fixed_chosen} of {total}; test BAC of the chosen point minus the fixed one: "
      f"mean {sum(gains)/len(gains):+.2f} pts, min {min(gains):+.2f}, max {max(gains):+.2f}")
rows = [x for x in csv.DictReader(open(f"{book}/claims-multiverse.csv")) if x["question"] == "EOS" and "beats" in x["claim"]]
d = defaultdict(dict)
for x in rows:
    spec = x["specification"]
    if "selection" in spec: continue
    d[(x["claim"][:45], x["configuration"].split(" · ")[1])].setdefault(spec, []).append(x["verdict"])
print("EOS's two comparisons per loss (seeds 0-2) under the validation-best epoch, by specification:")
for (c, loss), specs in sorted(d.items()):
    print(f"  {c} | {loss}")
    for spec, v in specs.items(): print(f"      {spec:55s} {' · '.join(v)}")
