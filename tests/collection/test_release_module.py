"""corral.deploy.release: release dirs, atomic current switch, previous, keep-N, rollback."""

from __future__ import annotations

import os

import pytest
from ansible_collections.corral.deploy.plugins.module_utils import releases


def deploy(base, version, keep=5, switch=True):
    _, after, actions = releases.plan(str(base), "present", version, keep, switch)
    releases.apply(str(base), actions)
    return after, actions


def test_first_release_becomes_current_without_previous(tmp_path):
    after, _ = deploy(tmp_path, "1.0.0")
    assert os.readlink(tmp_path / "current") == "releases/1.0.0"
    assert after["previous"] is None
    assert not os.path.lexists(tmp_path / "previous")


def test_second_release_moves_current_to_previous(tmp_path):
    deploy(tmp_path, "1.0.0")
    deploy(tmp_path, "1.1.0")
    assert os.readlink(tmp_path / "current") == "releases/1.1.0"
    assert os.readlink(tmp_path / "previous") == "releases/1.0.0"


def test_same_release_again_changes_nothing(tmp_path):
    deploy(tmp_path, "1.0.0")
    deploy(tmp_path, "1.1.0")
    _, actions = deploy(tmp_path, "1.1.0")
    assert actions == []
    assert os.readlink(tmp_path / "previous") == "releases/1.0.0"


def test_switch_false_creates_the_directory_only(tmp_path):
    deploy(tmp_path, "1.0.0")
    deploy(tmp_path, "2.0.0", switch=False)
    assert (tmp_path / "releases" / "2.0.0").is_dir()
    assert os.readlink(tmp_path / "current") == "releases/1.0.0"


def test_rollback_swaps_current_and_previous(tmp_path):
    deploy(tmp_path, "1.0.0")
    deploy(tmp_path, "1.1.0")
    _, after, actions = releases.plan(str(tmp_path), "rollback")
    releases.apply(str(tmp_path), actions)
    assert os.readlink(tmp_path / "current") == "releases/1.0.0"
    assert os.readlink(tmp_path / "previous") == "releases/1.1.0"
    assert after["current"] == "1.0.0"


def test_rollback_without_previous_names_the_releases(tmp_path):
    deploy(tmp_path, "1.0.0")
    with pytest.raises(releases.ReleaseError, match="no previous release.*1.0.0"):
        releases.plan(str(tmp_path), "rollback")


def test_rollback_to_unknown_version_is_refused(tmp_path):
    deploy(tmp_path, "1.0.0")
    with pytest.raises(releases.ReleaseError, match="'9.9' does not exist"):
        releases.plan(str(tmp_path), "rollback", "9.9")


def test_keep_prunes_oldest_but_never_current_or_previous(tmp_path):
    for index, version in enumerate(["1", "2", "3", "4", "5"]):
        deploy(tmp_path, version, keep=0)
        os.utime(tmp_path / "releases" / version, (1000 + index, 1000 + index))
    # Roll back to 4 so previous=5 (the newest) and current=4.
    _, _, actions = releases.plan(str(tmp_path), "rollback")
    releases.apply(str(tmp_path), actions)
    _, after, actions = releases.plan(str(tmp_path), "present", "4", keep=3)
    releases.apply(str(tmp_path), actions)
    assert sorted(os.listdir(tmp_path / "releases")) == ["3", "4", "5"]
    assert sorted(after["releases"]) == ["3", "4", "5"]


def test_absent_refuses_the_current_release(tmp_path):
    deploy(tmp_path, "1.0.0")
    with pytest.raises(releases.ReleaseError, match="is current"):
        releases.plan(str(tmp_path), "absent", "1.0.0")


def test_absent_removes_previous_and_its_pointer(tmp_path):
    deploy(tmp_path, "1.0.0")
    deploy(tmp_path, "1.1.0")
    _, _, actions = releases.plan(str(tmp_path), "absent", "1.0.0")
    releases.apply(str(tmp_path), actions)
    assert not (tmp_path / "releases" / "1.0.0").exists()
    assert not os.path.lexists(tmp_path / "previous")


def test_bad_version_names_the_field(tmp_path):
    with pytest.raises(releases.ReleaseError, match="version: '../etc' is not a valid"):
        releases.plan(str(tmp_path), "present", "../etc")


def test_a_directory_named_current_is_not_overwritten(tmp_path):
    (tmp_path / "current").mkdir()
    with pytest.raises(releases.ReleaseError, match="not a symlink"):
        releases.plan(str(tmp_path), "present", "1.0.0")


def test_module_check_mode_and_diff_touch_nothing(adhoc, tmp_path):
    base = tmp_path / "app"
    result = adhoc("corral.deploy.release", {"path": str(base), "version": "1.0.0"}, "--check", "--diff")
    assert result["changed"] is True
    assert result["current"] == "1.0.0"
    assert "current -> 1.0.0" in result["diff"]["after"]
    assert "current -> None" in result["diff"]["before"]
    assert not base.exists()


def test_module_deploys_and_is_idempotent(adhoc, tmp_path):
    base = tmp_path / "app"
    first = adhoc("corral.deploy.release", {"path": str(base), "version": "1.0.0"})
    second = adhoc("corral.deploy.release", {"path": str(base), "version": "1.0.0"})
    assert first["changed"] is True and second["changed"] is False
    assert first["release_path"] == str(base / "releases" / "1.0.0")
    assert os.readlink(base / "current") == "releases/1.0.0"


def test_module_requires_version_for_present(adhoc, tmp_path):
    result = adhoc("corral.deploy.release", {"path": str(tmp_path)}, expect_rc=(2,))
    assert "state is present but all of the following are missing: version" in result["msg"]
