"""Package the Helm chart for one release: its images, its version, nothing else changed.

    python scripts/chart-package.py --tag v0.2.0 --registry ghcr.io/acme/corral [--out DIR]

Copies charts/corral, sets the chart version to the tag without a leading "v" (charts
need a semantic version) and appVersion to the tag itself (the image tag the chart
defaults to), points images.{ui,agentServer,runner}.repository at
REGISTRY/{ui,agent-server,runner}, and runs `helm package` (helm on PATH or --helm).
Prints the .tgz path. The release workflow pushes it as an OCI artifact.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHART = Path(__file__).resolve().parents[1] / "charts" / "corral"
IMAGES = {"ui": "ui", "agentServer": "agent-server", "runner": "runner"}
SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def set_repositories(values: str, registry: str) -> str:
    """Rewrite the three `repository:` lines under `images:` (comments kept)."""
    out, current = [], None
    for line in values.splitlines(keepends=True):
        key = re.match(r"^  (ui|agentServer|runner):\s*$", line)
        if key:
            current = key.group(1)
        elif current and re.match(r"^    repository:", line):
            line = f"    repository: {registry}/{IMAGES[current]}\n"
            current = None
        out.append(line)
    result = "".join(out)
    missing = [n for n in IMAGES.values() if f"{registry}/{n}\n" not in result]
    if missing:
        raise SystemExit(f"chart-package: no images.*.repository found for {missing}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--out", default="build/chart-release")
    parser.add_argument("--helm", default="helm")
    args = parser.parse_args()
    version = args.tag.removeprefix("v")
    if not SEMVER.match(version):
        sys.exit(f"chart-package: --tag {args.tag!r} is not a semantic version such as v0.2.0")
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "corral"
        shutil.copytree(CHART, chart)
        meta = (chart / "Chart.yaml").read_text()
        meta = re.sub(r"(?m)^version: .*$", f"version: {version}", meta)
        meta = re.sub(r"(?m)^appVersion: .*$", f'appVersion: "{args.tag}"', meta)
        (chart / "Chart.yaml").write_text(meta)
        values = chart / "values.yaml"
        values.write_text(set_repositories(values.read_text(), args.registry.rstrip("/")))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([args.helm, "package", str(chart), "--destination", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
    print(out / f"corral-{version}.tgz")


if __name__ == "__main__":
    main()
