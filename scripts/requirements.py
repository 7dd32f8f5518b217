"""Print the pinned requirements of one optional-dependency group of pyproject.toml.

pyproject.toml is the one place versions are pinned; image builds and the
deployment's venv install from what this prints. Self-references such as
"corral[runner]" are expanded.
"""

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(group: str, groups: dict[str, list[str]]) -> list[str]:
    if group not in groups:
        raise SystemExit(f"unknown group {group!r}; expected one of {', '.join(sorted(groups))}")
    out: list[str] = []
    for req in groups[group]:
        if req.startswith("corral["):
            for inner in req[len("corral[") : -1].split(","):
                out.extend(requirements(inner.strip(), groups))
        else:
            out.append(req)
    return list(dict.fromkeys(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: requirements.py GROUP")
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    print("\n".join(requirements(sys.argv[1], project["optional-dependencies"])))
