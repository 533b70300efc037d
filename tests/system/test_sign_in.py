"""A staff sign-in's slow password hash does not hold up the rest of the hall (real server process)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.security import generate_password_hash

from server.launcher import ServerProcess, write_config

BRANCH = "SZ-FUTIAN"
pytestmark = pytest.mark.slow


def test_other_requests_are_answered_while_a_password_is_hashed(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    # a hash slow enough (about a second) that a request waiting behind it could not be mistaken
    slow = generate_password_hash("slow horse", method="pbkdf2:sha256:2500000")
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(username = "zhang.wei"\n(?:.*\n)*?password_hash = )".*?"', rf'\1"{slow}"', text, count=1)
    config.write_text(text, encoding="utf-8")
    finished: list[str] = []
    lock = threading.Lock()

    def sign_in() -> None:
        response = requests.post(f"{server.url}/api/session", json={"username": "zhang.wei", "password": "slow horse"},
                                 timeout=60)
        assert response.status_code == 200, response.text
        with lock:
            finished.append("sign-in")

    with ServerProcess(config) as server:
        signing_in = threading.Thread(target=sign_in)
        began = time.monotonic()
        signing_in.start()
        time.sleep(0.15)
        for n in range(3):
            response = requests.post(f"{server.url}/api/branches/{BRANCH}/tickets", json={"service": "BILL"},
                                     timeout=60)
            assert response.status_code == 201, response.text
            assert requests.get(f"{server.url}/api/branches/{BRANCH}/snapshot", timeout=60).ok
            with lock:
                finished.append(f"ticket {n}")
        signing_in.join()
        hashed_for = time.monotonic() - began
    assert finished == ["ticket 0", "ticket 1", "ticket 2", "sign-in"], (finished, hashed_for)
