"""corral_backup on a venv deployment: the archives converge and idempotence left, and
after side_effect destroyed the database and the automation token file and restored the
newest archive, the conversation written before that backup is served again, read with
the restored token (a file and a conversation survived)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from corral_checks import TOKEN_FILE, get_json

API = "http://127.0.0.1:8080/api"


def test_converge_made_one_archive_the_second_converge_none_side_effect_one(host):
    archives = host.check_output("ls /var/backups/corral").split()
    assert len([a for a in archives if a.startswith("corral-backup-")]) == 2, archives


def test_archives_are_root_only(host):
    assert host.file("/var/backups/corral").mode == 0o700
    for name in host.check_output("ls /var/backups/corral").split():
        assert host.file(f"/var/backups/corral/{name}").mode == 0o600


def test_the_token_file_came_back(host):
    token = host.file(TOKEN_FILE)
    assert token.exists and token.mode == 0o600 and token.user == "root"


def test_the_conversation_written_before_the_backup_is_served(host):
    cid = json.loads(host.file("/root/corral-backup-test.json").content_string)["conversation_id"]
    conversation = get_json(host, f"{API}/conversations/{cid}")
    assert conversation["id"] == cid
    assert [m["question"] for m in conversation["messages"]] == [
        "How many penguins are there per island?"]
    assert conversation["messages"][0]["result"]["status"] == "ok"
