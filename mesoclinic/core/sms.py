"""Text messages (SMS): how long a message is in parts, and the backends that send it.

Like Django's EMAIL_BACKEND, `settings.SMS_BACKEND` names the class that sends: the file
backend in the embedded default (each message a file under `var/sms/`, `make run` needs no
gateway), the HTTP gateway backend in production (`MESOCLINIC_SMS_URL`, `_TOKEN`, `_SENDER`),
the console backend to watch them in a terminal, and locmem for the tests (`sms.outbox`).

A backend raises `SMSGatewayError` (an OSError, so the reminder task retries it like a mail
server's failure) when the message may go on a later try: a timeout, a refused connection, a
5xx, 408 or 429. It raises `SMSRefused` when trying again cannot help: the gateway refused the
number or the message (another 4xx), or no gateway is configured. Reminders mark those "Not sent"
at once, with the reason, instead of retrying for hours.

Length: a part carries 160 GSM-7 characters (153 when the message is split into parts), or 70
UCS-2 characters (67). One character outside the GSM-7 alphabet (Turkish ş ğ ı İ ç among them:
we do not use the Turkish national shift table, which not every handset and gateway honours)
makes the whole message UCS-2.
"""

import datetime
import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

# GSM 03.38: the basic alphabet, one septet each; the extension table costs an escape and a septet.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("\f^{}\\[~]|€")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_PARTS = 2  # a reminder is at most two parts: longer ones are cut off or dropped by some phones

# The tests read what the locmem backend "sent" here, as Django's mail.outbox.
outbox = []
_outbox_lock = threading.Lock()


def is_gsm7(text):
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _units(text):
    """The message as the units a part is counted in, each a list of what cannot be split:
    GSM-7 septets (an extension character is an escape and a septet), or UTF-16 code units (an
    emoji is a surrogate pair)."""
    if is_gsm7(text):
        return "gsm7", [2 if char in GSM7_EXTENSION else 1 for char in text]
    return "ucs2", [2 if ord(char) > 0xFFFF else 1 for char in text]


def parts(text):
    """How many SMS parts `text` takes: 0 for an empty text."""
    encoding, units = _units(text)
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding == "gsm7" else (UCS2_SINGLE, UCS2_PART)
    if not units:
        return 0
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for unit in units:  # an escape pair or a surrogate pair never straddles two parts
        if used + unit > per_part:
            count, used = count + 1, 0
        used += unit
    return count


def encoding(text):
    """'GSM-7' or 'UCS-2': how the message travels (the outbox says it)."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def fits(text, max_parts=MAX_PARTS):
    return 0 < parts(text) <= max_parts


@dataclass
class SMSMessage:
    """One text message. `reference` is stable for one reminder (its key), so a gateway that
    drops repeats of a reference can drop a copy sent again after a crash."""

    to: str
    body: str
    reference: str = ""
    sender: str = field(default_factory=lambda: settings.SMS_SENDER)

    @property
    def parts(self):
        return parts(self.body)

    @property
    def encoding(self):
        return encoding(self.body)


class SMSGatewayError(OSError):
    """The message was not sent this time; a later try may succeed."""


class SMSRefused(Exception):
    """The message will not be sent however often it is tried; the text says why."""


class BaseBackend:
    def send(self, message: SMSMessage) -> str:
        """Send one message; return the gateway's id for it ("" if it gives none)."""
        raise NotImplementedError


class LocmemBackend(BaseBackend):
    def send(self, message):
        with _outbox_lock:
            outbox.append(message)
        return f"locmem-{len(outbox)}"


class ConsoleBackend(BaseBackend):
    def send(self, message):
        stream = sys.stdout
        stream.write(_as_text(message) + "\n" + "-" * 79 + "\n")
        stream.flush()
        return ""


class FileBackend(BaseBackend):
    """Each message a file in `settings.SMS_FILE_PATH`, named by time and reference."""

    def send(self, message):
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        name = "".join(char if char.isalnum() or char in "-_." else "_" for char in message.reference)[:80]
        path = folder / f"{stamp}-{name or 'sms'}.txt"
        path.write_text(_as_text(message) + "\n", encoding="utf-8")
        return path.name


class DisabledBackend(BaseBackend):
    """Production without a gateway: nothing is sent, and the outbox says why."""

    def send(self, message):
        raise SMSRefused("No SMS gateway is configured (MESOCLINIC_SMS_URL).")


class HTTPGatewayBackend(BaseBackend):
    """POSTs JSON to `settings.SMS_GATEWAY_URL` with `Authorization: Bearer <token>`:

        {"to": "+905321234567", "from": "MESOCLINIC", "text": "...", "reference": "appointment:..."}

    and takes any 2xx as sent (the id from a JSON answer's "id", if any). Most gateways take
    this shape or need a small proxy; the request is made here in one place so that a gateway
    with its own shape changes this class only."""

    def __init__(self, url=None, token=None, timeout=None):
        self.url = url or settings.SMS_GATEWAY_URL
        self.token = token if token is not None else settings.SMS_GATEWAY_TOKEN
        self.timeout = timeout or settings.SMS_TIMEOUT

    def send(self, message):
        if not self.url:
            raise SMSRefused("No SMS gateway is configured (MESOCLINIC_SMS_URL).")
        payload = {"to": message.to, "from": message.sender, "text": message.body, "reference": message.reference}
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(4096)
        except urllib.error.HTTPError as error:
            said = _short(error.read(300))
            reason = f"the SMS gateway answered {error.code}" + (f": {said}" if said else "")
            if error.code >= 500 or error.code in (408, 429):
                raise SMSGatewayError(reason) from None
            raise SMSRefused(reason) from None
        except TimeoutError:
            raise SMSGatewayError(f"the SMS gateway did not answer within {self.timeout:g} s") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise SMSGatewayError(f"the SMS gateway did not answer within {self.timeout:g} s") from None
            raise SMSGatewayError(f"the SMS gateway could not be reached ({error.reason})") from None
        except OSError as error:  # a connection reset mid-answer
            raise SMSGatewayError(f"the SMS gateway could not be reached ({error})") from None
        try:
            return str(json.loads(answer or b"{}").get("id", ""))[:100]
        except (ValueError, AttributeError):
            return ""


BACKENDS = {
    "console": "mesoclinic.core.sms.ConsoleBackend",
    "file": "mesoclinic.core.sms.FileBackend",
    "http": "mesoclinic.core.sms.HTTPGatewayBackend",
    "locmem": "mesoclinic.core.sms.LocmemBackend",
    "disabled": "mesoclinic.core.sms.DisabledBackend",
}


def get_backend():
    """The configured backend: a short name (file, console, http, locmem, disabled) or a dotted path."""
    name = settings.SMS_BACKEND
    return import_string(BACKENDS.get(name, name))()


def send(message: SMSMessage) -> str:
    return get_backend().send(message)


def _as_text(message):
    return (
        f"To: {message.to}\nFrom: {message.sender}\nReference: {message.reference}\n"
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC\n"
        f"Parts: {message.parts} ({message.encoding}, {len(message.body)} characters)\n\n{message.body}"
    )


def _short(raw):
    return " ".join(raw.decode("utf-8", "replace").split())[:120]
