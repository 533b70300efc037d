"""Announcements of calls on the wall displays: what to say for a committed call, and its audio.

A display that receives a ``called`` or ``recalled`` event asks for ``announcement(branch, seq)`` once; the
answer says whether to chime, how often to repeat, and for each configured language the text to show, the
text to speak and where to get server-made audio of it (for a browser without a voice for that language).
The words come from :mod:`server.domain.announcements` and ``[announcements]`` in ``config.toml``.
"""

from __future__ import annotations

from typing import Any

from server.domain.announcements import AnnouncementText, announcement
from server.domain.errors import DomainError, NotFound
from server.domain.hall import AnnouncementSettings
from server.domain.numbering import format_number
from server.domain.tickets import EventKind
from server.persistence import hall_reads
from server.persistence.tables import TicketEvent
from server.services.access import require_branch
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import UnitOfWork
from server.services.views import iso
from server.settings import HallConfig
from server.voice import EspeakVoice, VoiceUnavailable

ANNOUNCED_KINDS = (EventKind.CALLED.value, EventKind.RECALLED.value)


class AnnouncementService(ReadsHallModel):
    """Builds announcements from the event log (by sequence number) and speaks them with espeak-ng."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, voice: EspeakVoice | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.voice = voice or EspeakVoice()

    @property
    def settings(self) -> AnnouncementSettings:
        return self.config.announcements

    def announcement(self, branch_code: str, seq: int) -> dict[str, Any]:
        """The announcement of the call committed as event ``seq`` of the branch."""
        event, recall_count = self._call_event(branch_code, seq)
        texts = self._texts(branch_code, event)
        base = f"/api/branches/{branch_code}/announcements/{seq}/audio"
        return {
            "branch": branch_code,
            "seq": seq,
            "kind": event.kind,
            "at": iso(event.at),
            "number": event.ticket_number,
            "counter": event.counter_number,
            "recall_count": recall_count,
            "chime": self.settings.chime,
            "repeat": self.settings.repeat,
            "voice": self.settings.voice,
            "server_voice": self.voice.available,
            "parts": [{"language": t.language, "text": t.text, "speech": t.speech,
                       "audio_url": f"{base}/{t.language}"} for t in texts],
        }

    def audio(self, branch_code: str, seq: int, language: str) -> bytes:
        """WAV of one language's part of the announcement, made by espeak-ng (cached by text)."""
        if language not in self.settings.languages:
            raise NotFound(f"announcements are not spoken in {language!r} (configured: "
                           f"{', '.join(self.settings.languages)})", code="unknown_language")
        event, _recalls = self._call_event(branch_code, seq)
        text = next(t for t in self._texts(branch_code, event) if t.language == language)
        return self._speak(text, language)

    def test_announcement(self, branch_code: str) -> dict[str, Any]:
        """A sample call for staff setting a display up: the first service's first number to the first counter,
        in the configured words, languages and voice (nothing is recorded; no ticket exists)."""
        texts = self._test_texts(branch_code)
        base = f"/api/branches/{branch_code}/announcements/test/audio"
        return {"branch": branch_code, "number": texts[0][0], "counter": texts[0][1], "chime": self.settings.chime,
                "repeat": 1, "voice": self.settings.voice, "server_voice": self.voice.available,
                "parts": [{"language": t.language, "text": t.text, "speech": t.speech,
                           "audio_url": f"{base}/{t.language}"} for _n, _c, t in texts]}

    def test_audio(self, branch_code: str, language: str) -> bytes:
        """WAV of one language's part of :meth:`test_announcement`."""
        if language not in self.settings.languages:
            raise NotFound(f"announcements are not spoken in {language!r} (configured: "
                           f"{', '.join(self.settings.languages)})", code="unknown_language")
        text = next(t for _n, _c, t in self._test_texts(branch_code) if t.language == language)
        return self._speak(text, language)

    def _test_texts(self, branch_code: str) -> list[tuple[str, str, AnnouncementText]]:
        branch = require_branch(self.config, branch_code)
        service, counter = branch.services[0], branch.counters[0]
        number = format_number(service.prefix, max(1, service.start_number), service.number_width)
        names = counter.name.as_dict()
        return [(number, counter.number, announcement(self.settings.template(lang), lang, number=number,
                                                      counter=counter.number, counter_name=names.get(lang)))
                for lang in self.settings.languages]

    def _speak(self, text: AnnouncementText, language: str) -> bytes:
        try:
            return self.voice.synthesize(text.speech, self.settings.server_voice(language), self.settings.speech_rate)
        except VoiceUnavailable as exc:
            raise DomainError(str(exc), code="voice_unavailable", http_status=503) from None

    def _call_event(self, branch_code: str, seq: int) -> tuple[TicketEvent, int]:
        branch = require_branch(self.config, branch_code)
        with self.uow.read() as session:
            event = hall_reads.event_at(session, branch.code, seq)
            if event is None or event.kind not in ANNOUNCED_KINDS or not event.ticket_number \
                    or not event.counter_number:
                raise NotFound(f"event {seq} of branch {branch.code} is not a call", code="not_a_call")
            recalls = hall_reads.recalls_until(session, branch.code, event.ticket_id, seq)
        return event, int(recalls)

    def _texts(self, branch_code: str, event: TicketEvent) -> list[AnnouncementText]:
        branch = self.config.branch(branch_code)
        assert branch is not None and event.ticket_number and event.counter_number
        counter = branch.counter(event.counter_number)
        names = counter.name.as_dict() if counter else {}
        return [announcement(self.settings.template(lang), lang, number=event.ticket_number,
                             counter=event.counter_number, counter_name=names.get(lang))
                for lang in self.settings.languages]
