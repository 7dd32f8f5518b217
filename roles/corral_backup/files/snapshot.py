"""Stage one backup of a Corral deployment: a consistent copy of the live SQLite database
(the online backup API, safe while the agent writes) and the configuration files, with a
fingerprint of both. When the fingerprint equals the newest archive's, nothing changed
since: the staging directory is removed and no archive is due (a second run changes nothing).

    python3 snapshot.py STAGING DATABASE LAST_FINGERPRINT CONFIG_FILE...
Prints {"new": bool, "fingerprint": str, "conversation_ids": [...]}.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import sys


def main(staging, database, last, configs):
    if not os.path.isfile(database):
        sys.exit(f"no database at {database}: has the agent started here since it was deployed?")
    os.makedirs(os.path.join(staging, "config"), mode=0o700, exist_ok=True)
    copy = os.path.join(staging, "corral.db")
    src = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    dst.close()
    src.close()
    digest = hashlib.sha256()
    for path in [copy, *configs]:
        with open(path, "rb") as handle:
            digest.update(os.path.basename(path).encode() + b"\0" + handle.read() + b"\0")
    for path in configs:  # with their modes (restore puts them back so: corral.env is 0640
        # for the agent's group); the staging directory and the archive are root's alone
        shutil.copy2(path, os.path.join(staging, "config", os.path.basename(path)))
    fingerprint = digest.hexdigest()
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM conversations ORDER BY id")]
    new = fingerprint != last
    if not new:
        shutil.rmtree(staging)
    print(json.dumps({"new": new, "fingerprint": fingerprint, "conversation_ids": ids}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
