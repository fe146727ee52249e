"""The outside channels: mail over SMTP (smtplib) and a chat robot webhook (urllib).

Each sender takes one outbox row's plain facts and raises :class:`ChannelError` when the channel
refused or could not be reached; nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urljoin, urlsplit

__all__ = ["ChannelError", "Letter", "MailSender", "post_webhook", "absolute_link", "message_id"]


class ChannelError(Exception):
    """The channel did not take the message (the reason is kept on the outbox row)."""


@dataclass(frozen=True)
class Letter:
    """What a channel sends: one outbox row, its link made absolute."""

    outbox_id: int
    dedupe_key: str
    to_address: str | None
    to_name: str
    subject: str
    body: str
    link: str | None


def absolute_link(base_url: str, link: str | None) -> str | None:
    """``link`` (an app path) under the public base URL."""
    if not link:
        return None
    return urljoin(base_url.rstrip("/") + "/", link.lstrip("/"))


def message_id(letter: Letter, sender: str) -> str:
    """A Message-ID fixed per outbox row, so a mail resent after a crash in the uncertain window
    carries the same id and a mail store can drop the duplicate."""
    digest = hashlib.sha256(f"{letter.outbox_id}:{letter.dedupe_key}".encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<ia-outbox-{letter.outbox_id}-{digest}@{domain}>"


class MailSender:
    """One SMTP connection reused for a batch (``smtp://[user:pass@]host:port`` or ``smtps://``)."""

    def __init__(self, url: str, sender: str, timeout: float = 15.0) -> None:
        self.url = urlsplit(url)
        self.sender = sender
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        host = self.url.hostname or "localhost"
        if self.url.scheme.startswith("smtps"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, self.url.port or 465, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, self.url.port or 25, timeout=self.timeout)
        if self.url.username:
            smtp.login(unquote(self.url.username), unquote(self.url.password or ""))
        return smtp

    def send(self, letter: Letter) -> None:
        if not letter.to_address:
            raise ChannelError("no mail address")
        message = EmailMessage()
        try:
            message["Subject"] = " ".join(letter.subject.split())
            message["From"] = formataddr(("机关内部最多跑一次", self.sender))
            message["To"] = formataddr((" ".join(letter.to_name.split()), letter.to_address))
            message["Date"] = formatdate(localtime=False)
            message["Message-ID"] = message_id(letter, self.sender)
            text = letter.body + (f"\n\n办理链接：{letter.link}\n" if letter.link else "\n")
            message.set_content(text)
        except (ValueError, TypeError) as exc:  # a malformed address or header: this message cannot go
            raise ChannelError(f"mail: {exc}") from None
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise ChannelError(f"smtp: {exc}") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def post_webhook(url: str, letter: Letter, timeout: float = 10.0) -> None:
    """POST a DingTalk-robot markdown message; a non-2xx answer or a non-zero ``errcode`` fails."""
    text = f"#### {letter.subject}\n\n{letter.body}"
    if letter.link:
        text += f"\n\n[查看办理]({letter.link})"
    payload = {"msgtype": "markdown", "markdown": {"title": letter.subject, "text": text}}
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read(65536)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise ChannelError(f"webhook: {exc}") from None
    try:
        parsed = json.loads(answer) if answer else {}
    except ValueError:
        parsed = {}
    if isinstance(parsed, dict) and parsed.get("errcode") not in (None, 0):
        raise ChannelError(f"webhook: errcode {parsed.get('errcode')} {parsed.get('errmsg', '')}")
