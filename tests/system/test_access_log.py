"""A ticket's private token never reaches the access log: whoever reads the log must not be able to open, cancel
or rate a customer's ticket."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import requests

from server.launcher import ServerProcess, write_config
from server.web import TokenMaskingFilter, mask_tokens

B = "/api/branches/SZ-FUTIAN"


def test_the_servers_access_log_shows_only_the_start_of_each_token(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with ServerProcess(config, quiet=False) as server:
        token = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).json()["token"]
        for path in (f"/t/{token}", f"/t/{token}/qr.svg", f"/api/tickets/{token}", f"/api/tickets/{token}/rating",
                     f"/t/{token}?lang=en"):
            assert requests.get(server.url + path, timeout=10).status_code == 200, path
        requests.post(f"{server.url}/api/tickets/{token}/cancel", timeout=10).raise_for_status()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum("/cancel" in line for line in server.output) < 1:
            time.sleep(0.05)
        log = "".join(server.output)
    assert token not in log
    assert token[:5] not in log
    masked = f"{token[:4]}…"
    for path in (f"/t/{masked}", f"/t/{masked}/qr.svg", f"/api/tickets/{masked}", f"/api/tickets/{masked}/rating",
                 f"/api/tickets/{masked}/cancel", f"/t/{masked}?lang=en"):
        assert f"{path} HTTP/1.1" in log, (path, log[-2000:])


@pytest.mark.parametrize(("line", "masked"), [
    ('"GET /t/AbCdEfGhIjKlMnOpQrStUvWx HTTP/1.1" 200', '"GET /t/AbCd… HTTP/1.1" 200'),
    ('"POST /api/tickets/AbCdEfGhIjKlMnOpQrStUvWx/cancel HTTP/1.1"', '"POST /api/tickets/AbCd…/cancel HTTP/1.1"'),
    ('"GET /t/Ab%00cd HTTP/1.1"', '"GET /t/Ab%0… HTTP/1.1"'),
    ('"GET /api/branches/SZ-FUTIAN/tickets HTTP/1.1"', '"GET /api/branches/SZ-FUTIAN/tickets HTTP/1.1"'),
    # an integration's API token pasted into a query string: only the part the manager's list shows
    ('"GET /api/branches/SZ-FUTIAN/events?token=qt_AbCd1234efGHijKLmnOPqrSTuvWXyz0123456789-_x HTTP/1.1"',
     '"GET /api/branches/SZ-FUTIAN/events?token=qt_AbCd1234… HTTP/1.1"'),
])
def test_mask_tokens(line: str, masked: str) -> None:
    assert mask_tokens(line) == masked


def test_the_filter_masks_a_formatted_record() -> None:
    record = logging.LogRecord("access", logging.INFO, __file__, 1, '%s "GET /t/%s HTTP/1.1"',
                               ("127.0.0.1", "AbCdEfGhIjKlMnOpQrSt"), None)
    assert TokenMaskingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1 "GET /t/AbCd… HTTP/1.1"'
