#!/usr/bin/env python3
"""The architecture as a test (docs/architecture.md): every #include of signsweep's C++ points down the layers,
inside workers/ too; MPI is called only in comm/ and orchestrator/mpi_session.cc; trial stages and watermark
schemes are spelt only in core/vocabulary.cc. Reads the source tree given as argv[1]."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
# Lowest first. A file may include its own module and any module before it.
LAYERS = ["common", "core", "comm", "storage", "report",
          "workers/device", "workers/data", "workers/models", "workers/schemes", "workers/gradsigns",
          "workers/watermarks", "workers/train", "workers/evaluation", "workers/attacks", "workers",
          "orchestrator"]
# Modules of one level that must not include each other.
PEERS = {frozenset({"workers/device", "workers/data"})}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MPI_CALL = re.compile(r"\bMPI_[A-Z][a-z_]+\s*\(")
SPELLINGS = re.compile(r'"(gradsigns|uchida|null-model|null-check)"')


def module_of(path: str):
    """The deepest layer whose folder holds `path` (a repository-relative path)."""
    best = None
    for layer in LAYERS:
        if path.startswith(layer + "/") and (best is None or len(layer) > len(best)):
            best = layer
    return best


def sources():
    for layer in ("common", "core", "comm", "storage", "report", "workers", "orchestrator"):
        for p in sorted((ROOT / layer).rglob("*")):
            if p.suffix in (".h", ".cc"):
                yield p.relative_to(ROOT).as_posix(), p.read_text(errors="replace")


def without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def main() -> int:
    problems = []
    files = 0
    for path, text in sources():
        files += 1
        mine = module_of(path)
        for target in INCLUDE.findall(text):
            theirs = module_of(target)
            if theirs is None or theirs == mine:
                continue
            if LAYERS.index(theirs) > LAYERS.index(mine):
                problems.append(f"{path}: includes {target}: {mine} is below {theirs}")
            elif frozenset({mine, theirs}) in PEERS:
                problems.append(f"{path}: includes {target}: {mine} and {theirs} are peers")
        code = without_comments(text)
        if MPI_CALL.search(code) and not (path.startswith("comm/") or path == "orchestrator/mpi_session.cc"):
            problems.append(f"{path}: calls MPI ({MPI_CALL.search(code).group(0).strip()}) outside comm/ and mpi_session.cc")
        if path != "core/vocabulary.cc":
            for m in SPELLINGS.finditer(code):
                problems.append(f"{path}: spells the kind {m.group(0)} (core/vocabulary.h spells it)")
    for p in problems:
        print(p)
    print(f"{files} files, {len(problems)} problems")
    if files < 100:
        print("too few files: wrong source tree?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
