"""The corral_app role's datasets step (tasks/datasets.yml) on localhost, into a temporary
folder: an operator's dataset is checked on the controller and installed beside the demo
ones; a second converge changes nothing; a changed file is installed again; a bad
source stops the play before the target changes. No Docker needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from deploy_helpers import REPO, failure, playbook, recap

from app.catalog import load_catalog

PLAY = """
- name: Install the operator's datasets only
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run the datasets step of corral_app
      ansible.builtin.include_role:
        name: corral_app
        tasks_from: datasets.yml
"""


def converge(tmp: Path, datasets: list[dict], target: Path) -> subprocess.CompletedProcess:
    play = tmp / "play.yml"
    play.write_text(PLAY)
    extra = {"corral_datasets": datasets, "corral_datasets_dir": str(target),
             "corral_app_repo_dir": str(REPO), "ansible_python_interpreter": sys.executable}
    return playbook(str(play), "localhost,", "-e", json.dumps(extra), timeout=300,
                    env={"ANSIBLE_ROLES_PATH": str(REPO / "roles")})


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A `sensors` dataset written by `corral datasets add`."""
    files, folder = tmp_path / "files", tmp_path / "sensors-src"
    files.mkdir()
    duckdb.connect().execute(f"""COPY (SELECT n AS reading_id, ['roof', 'cellar'][n % 2 + 1]
        AS place, 10 + n % 15 AS temperature_c FROM range(1, 101) t(n))
        TO '{files / 'readings.parquet'}' (FORMAT parquet)""")
    subprocess.run([sys.executable, "-m", "app.cli", "datasets", "add", str(files),
                    "--name", "sensors", "--datasets", str(folder)], cwd=REPO, check=True)
    return folder


def test_install_is_idempotent_and_follows_a_data_change(tmp_path, source):
    target = tmp_path / "target"
    first = converge(tmp_path, [{"name": "sensors", "src": str(source)}], target)
    assert first.returncode == 0, failure(first)
    catalog = load_catalog(target)  # what the agent will load at start-up
    assert catalog.names == ["penguins", "gapminder", "flights", "sensors"]
    assert catalog.get("flights").main.name == "flights"  # table order kept: main first
    assert catalog.get("sensors").row_count == 100
    assert oct(target.stat().st_mode & 0o777) == "0o755"

    again = converge(tmp_path, [{"name": "sensors", "src": str(source)}], target)
    assert again.returncode == 0, failure(again)
    assert recap(again.stdout, "localhost")["changed"] == 0

    duckdb.connect().execute(f"""COPY (SELECT n AS reading_id, 'roof' AS place,
        20 AS temperature_c FROM range(1, 51) t(n)) TO '{source / 'readings.parquet'}'
        (FORMAT parquet)""")
    subprocess.run([sys.executable, "-m", "app.cli", "datasets", "add", str(source),
                    "--name", "sensors", "--datasets", str(source), "--replace"],
                   cwd=REPO, check=True)
    changed = converge(tmp_path, [{"name": "sensors", "src": str(source)}], target)
    assert changed.returncode == 0, failure(changed)
    assert recap(changed.stdout, "localhost")["changed"] >= 1
    assert load_catalog(target).get("sensors").row_count == 50


def test_a_bad_source_stops_before_the_target_changes(tmp_path, source):
    (source / "readings.parquet").write_bytes(b"not parquet any more")
    target = tmp_path / "target"
    proc = converge(tmp_path, [{"name": "sensors", "src": str(source)}], target)
    assert proc.returncode != 0
    assert "sensors.readings (readings.parquet): FAILED" in proc.stdout
    assert not target.exists()


def test_a_name_missing_from_the_source_is_named(tmp_path, source):
    proc = converge(tmp_path, [{"name": "weather_stations", "src": str(source)}], tmp_path / "t")
    assert proc.returncode != 0
    assert "has no dataset 'weather_stations' (it has sensors)" in proc.stdout
