"""Test doubles at the edge we do not own: the mail server."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class SlowFirstEmailBackend(EmailBackend):
    """Writes mail to files, but the very first send (across processes) stalls for a while,
    leaving its process id in a marker file, so a test can kill the worker mid-send."""

    def send_messages(self, email_messages):
        marker = Path(os.environ["MESOCLINIC_TEST_STALL_MARKER"])
        try:
            with marker.open("x") as handle:  # only the first sender in any process gets here
                handle.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            time.sleep(60)
        return super().send_messages(email_messages)
