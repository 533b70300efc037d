"""A real server refuses the Socket.IO handshake of another site's page (the staff rooms ride on the cookie)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from server.launcher import ServerProcess, write_config

pytestmark = pytest.mark.slow


def test_the_socket_handshake_from_another_origin_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with ServerProcess(config).start() as server:
        own = server.url
        handshake = f"{server.url}/socket.io/?EIO=4&transport=polling"
        for origin in ("http://evil.example", own.rsplit(":", 1)[0] + ":1"):  # another site; another port
            refused = requests.get(handshake, headers={"Origin": origin})
            assert refused.status_code == 400 and "Not an accepted origin" in refused.text
        assert requests.get(handshake, headers={"Origin": own}).status_code == 200
        assert requests.get(handshake, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}).status_code == 200
        assert requests.get(handshake).status_code == 200  # a program without an Origin
