"""Start a real server process on a free port, for benchmarks and system tests.

The configuration is the demo hall's ``config.toml`` with the database, secret and opening hours
replaced, so that the process under test is exactly what ``make run`` starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent

LIMITS_OFF: Mapping[str, str | int] = {
    "kiosk_tickets": "off", "device_tickets": "off", "device_open_tickets": 0, "address_tickets": "off",
    "address_open_tickets": 0, "socket_joins": "off", "address_socket_joins": "off", "connections_per_address": 0,
    "booking_changes": "off", "booking_lookups": "off", "phone_checkin_misses": "off"}
"""``[limits]`` for load tests and tests that are not about the limits: thousands of tickets and connections from
127.0.0.1 are then not abuse. Timeouts and send queues stay as configured."""


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def limits_section(text: str, limits: Mapping[str, object]) -> str:
    """``text`` (a config.toml) with these ``[limits]`` keys set and the section's other keys kept."""
    section = re.search(r"^\[limits\][^\n]*\n(?:(?!\[)[^\n]*(?:\n|$))*", text, flags=re.M)
    kept = []
    for line in (section.group(0).splitlines()[1:] if section else []):
        key = re.match(r"\s*(\w+)\s*=", line)
        if key and key.group(1) not in limits:
            kept.append(line)
    new = "\n".join(["[limits]", *kept, *(f"{key} = {_toml(value)}" for key, value in limits.items())]) + "\n\n"
    if section:
        return text[:section.start()] + new + text[section.end():]
    return text.replace("\n[server]", "\n" + new + "[server]", 1) if "\n[server]" in text else new + text


def write_config(directory: Path, database_url: str, *, all_day: bool = True, redis_url: str = "",
                 source: Path = ROOT / "config.toml", limits: Mapping[str, object] | None = LIMITS_OFF) -> Path:
    """A copy of the demo configuration pointing at ``database_url``; open 24 hours every day of the year unless
    told otherwise. ``limits``: ``[limits]`` keys to set (by default the limits on abuse are off, see
    :data:`LIMITS_OFF`); None keeps the demo's."""
    text = source.read_text(encoding="utf-8")
    if limits is not None:
        text = limits_section(text, limits)
    text = re.sub(r'^database_url = ".*?"', f'database_url = "{database_url}"', text, count=1, flags=re.M)
    text = re.sub(r'^redis_url = ".*?"', f'redis_url = "{redis_url}"', text, count=1, flags=re.M)
    text = re.sub(r'^secret_key_file = ".*?"', f'secret_key_file = "{directory / "secret_key"}"', text, count=1,
                  flags=re.M)
    if all_day:  # every day the same, no holidays (the demo writes hours_by_day as one-line inline tables)
        text = re.sub(r"^[ \t]*\[\[branches\.exceptions\]\][^\n]*\n(?:(?![ \t]*\[)[^\n]*(?:\n|$))*", "", text,
                      flags=re.M)
        text = re.sub(r"^[ \t]*hours_by_day = \{[^\n]*\}[ \t]*(?:#[^\n]*)?\n", "", text, flags=re.M)
        text = re.sub(r'^(\s*)hours = ".*?"', r'\1hours = "00:00-24:00"', text, flags=re.M)
        text = re.sub(r'^[ \t]*last_ticket = "[^"\n]*"[^\n]*\n', "", text, flags=re.M)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


class ServerProcess:
    """``python -m server`` in a child process; ``url`` is set once it printed READY."""

    def __init__(self, config_path: Path, *, env: dict[str, str] | None = None, quiet: bool = True,
                 port: int = 0, root: Path = ROOT) -> None:
        """``root``: the code to run (``python -m server`` in that directory): another release's checkout too."""
        self.config_path = config_path
        self.root = root
        self.port = port  # 0: a free port; after start() the port in use, so that a restart keeps it
        self.env = env
        self.quiet = quiet
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout: float = 60.0) -> ServerProcess:
        command = [sys.executable, "-m", "server", "--config", str(self.config_path), "--port", str(self.port)]
        if self.quiet:
            command.append("--quiet")
        environment = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        environment.pop("HALL_DATABASE_URL", None)
        if self.root != ROOT:
            environment.pop("PYTHONPATH", None)  # another release's code: that in root, not this one on the path
        self.process = subprocess.Popen(command, cwd=self.root, env=environment, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("READY "):
                self.url = line.split()[1].strip()
                self.port = int(self.url.rsplit(":", 1)[1])
                self._drain()
                return self
        self.kill()
        raise RuntimeError("server did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        """Keep reading the child's output so that it never blocks on a full pipe."""
        import threading

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if len(self.output) > 5000:
                    del self.output[:1000]

        threading.Thread(target=pump, daemon=True).start()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up, like a power cut of the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, timeout: float = 60.0) -> ServerProcess:
        """Stop (SIGKILL if ``kill``) and start again on the same port: clients see a real outage."""
        self.stop()
        self.process = None
        return self.start(timeout)

    def __enter__(self) -> ServerProcess:
        return self.start() if self.process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
