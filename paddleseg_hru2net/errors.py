"""The one error type for mistakes a user can fix (a missing file, a bad setting, a corrupt model).

Library code raises :class:`InputError` (or a subclass) with a message that names the file or
option and says what to do; the commands print that message on one line and exit with code 2
(``cli.common.friendly_main``). Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A mistake the user can fix; the message names the file or option and what to do."""
