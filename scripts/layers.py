#!/usr/bin/env python3
"""layers.py BUILDDIR -- check the link-level shape of src/ on built objects.

For every object of libturnd.a and the programs, nm says which symbols it
defines and which it uses.  An edge A -> B means A uses a symbol B defines.
Two checks:
  1. no cycle between objects of one src/ folder (strongly connected
     components of size > 1), and
  2. the module order common <- stun <- conf <- store <- turn <- net <-
     admin <- turnd (and turnctl on top): no object uses a symbol of a
     module above its own.
Prints what it finds; exit status 1 on any violation.
"""
import os
import subprocess
import sys

ORDER = ["common", "stun", "conf", "store", "turn", "net", "admin", "top"]


def module(path):
    parts = path.split(os.sep)
    if "src" in parts:
        i = parts.index("src")
        if i + 2 < len(parts):
            return parts[i + 1]
        return "top"
    return None


def objects(build):
    out = []
    for root, _, files in os.walk(os.path.join(build, "src")):
        for f in files:
            if f.endswith(".o"):
                out.append(os.path.join(root, f))
    return sorted(out)


def nm(obj):
    defined, used = set(), set()
    r = subprocess.run(["nm", "-P", obj], capture_output=True, text=True,
                       check=True)
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[0], f[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRCVW" or kind in "tdbr" and False:
            defined.add(name)
    return defined, used


def sccs(nodes, edges):
    index, low, stack, on, res, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            res.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return res


def name_of(obj, build):
    rel = os.path.relpath(obj, build)
    base = os.path.basename(rel)
    # automake names program objects src/turnctl/turnctl-ctl_ice.o etc.
    if "-" in base:
        base = base.split("-", 1)[1]
    return os.path.join(os.path.dirname(rel), base)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    objs = objects(build)
    if not objs:
        print("no objects under %s/src" % build)
        return 1
    info = {}
    owner = {}
    for o in objs:
        d, u = nm(o)
        n = name_of(o, build)
        info[n] = (d, u)
        for s in d:
            owner.setdefault(s, set()).add(n)
    edges = {}
    bad = 0
    for n, (_, u) in info.items():
        for s in u:
            for m in owner.get(s, ()):
                if m != n:
                    edges.setdefault(n, set()).add(m)
    # 1. cycles inside a folder
    for folder in sorted({os.path.dirname(n) for n in info}):
        nodes = [n for n in info if os.path.dirname(n) == folder]
        sub = {n: {m for m in edges.get(n, ()) if os.path.dirname(m) ==
                   folder} for n in nodes}
        for comp in sccs(nodes, sub):
            if len(comp) > 1:
                bad += 1
                print("cycle in %s: %s" % (folder, " ".join(
                    sorted(os.path.basename(c) for c in comp))))
    # 2. the module order
    rank = {m: i for i, m in enumerate(ORDER)}
    for n, targets in sorted(edges.items()):
        mn = module(n)
        for m in sorted(targets):
            mm = module(m)
            if mn == "turnctl" or mm == "turnctl" and mn == "turnctl":
                continue
            if mm == "turnctl":
                bad += 1
                print("upward: %s uses %s" % (n, m))
                continue
            rn, rm = rank.get(mn, rank["top"]), rank.get(mm, rank["top"])
            if rm > rn:
                bad += 1
                print("upward: %s (%s) uses %s (%s)" % (n, mn, m, mm))
    if bad == 0:
        print("layers: %d objects, no cycle in a folder, module order "
              "holds" % len(info))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
