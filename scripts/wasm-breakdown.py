#!/usr/bin/env python3
"""What the WASM bundle's code is made of, by crate: reads `wasm-opt --func-metrics` output
(binary bytes per function) of a wasm file that still has its name section (cargo's output
before wasm-opt, e.g. target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm) and
sums the bytes by the crate that names each function. A generic function instantiated for
GAD's types (its mangled name mentions `app::`) counts as `app`.

  tools/node_modules/.bin/wasm-opt FILE --func-metrics -o /dev/null | scripts/wasm-breakdown.py
"""
import re
import sys
from collections import Counter

def first_segment(symbol: str) -> str:
    """The first path segment of a legacy-mangled Rust symbol (`_ZN<len><name>...E`)."""
    if not symbol.startswith("_ZN"):
        return symbol
    digits = re.match(r"\d+", symbol[3:])
    if not digits:
        return symbol
    start = 3 + len(digits.group(0))
    return symbol[start : start + int(digits.group(0))]


sizes = Counter()
name = None
for line in sys.stdin:
    if line.startswith("func: "):
        name = line[6:].strip()
    elif name and line.strip().startswith("[binary-bytes]"):
        size = int(line.split(":")[1])
        crate = first_segment(name)
        if crate == "app" or re.search(r"(^|[^a-z_])app\.\.", name):
            crate = "app (GAD's own code and generics over its types)"
        elif crate.startswith("_$LT$"):
            # `<Type as Trait>::f`: the crate of the first path inside.
            inner = re.match(r"_\$LT\$(?:\$RF\$)?(?:mut\$u20\$)?([A-Za-z_][A-Za-z0-9_]*)", crate)
            crate = inner.group(1) if inner else "(other)"
            if crate == "T":
                crate = "(blanket impls <T as ...>)"
        sizes[crate] += size
        name = None
total = sum(sizes.values())
print(f"{'crate':40} {'bytes':>10} {'share':>7}")
for crate, size in sizes.most_common(15):
    print(f"{crate:40} {size:>10} {100 * size / total:6.1f}%")
print(f"{'total code':40} {total:>10}")
