"""How a worker settles a JetStream message for each outcome — the one table.

* ACK: the outcome is final (a result, success or typed failure, was published; or the
  event was not for us / already expired).
* NAK(delay): transient; JetStream redelivers after ``delay`` (up to max_deliver).
* TERM: poison; retrying cannot help, never redeliver.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nats.aio.msg import Msg

from stylestream.config import DEFAULT_NAK_DELAY_S
from stylestream.errors import (
    BadMessage,
    BusUnavailable,
    ExtractorError,
    PublishFailed,
    RequestError,
    StylestreamError,
)


class Action(enum.Enum):
    ACK = "ack"
    NAK = "nak"
    TERM = "term"


@dataclass(frozen=True, slots=True)
class Disposition:
    action: Action
    delay_s: float | None = None


DONE = Disposition(Action.ACK)

# Most specific class first; looked up along the exception's MRO.
DISPOSITIONS: dict[type[StylestreamError], Disposition] = {
    BadMessage: Disposition(Action.TERM),
    PublishFailed: Disposition(Action.NAK, DEFAULT_NAK_DELAY_S),
    BusUnavailable: Disposition(Action.NAK, DEFAULT_NAK_DELAY_S),
    # published as a typed failure result first, then final
    ExtractorError: DONE,
    RequestError: DONE,
    StylestreamError: DONE,
}


def disposition_for(error: StylestreamError | None) -> Disposition:
    if error is None:
        return DONE
    for cls in type(error).__mro__:
        if cls in DISPOSITIONS:
            return DISPOSITIONS[cls]  # type: ignore[index]
    return DONE


async def settle(msg: Msg, error: StylestreamError | None = None) -> Action:
    disposition = disposition_for(error)
    if disposition.action is Action.ACK:
        await msg.ack()
    elif disposition.action is Action.NAK:
        await msg.nak(delay=disposition.delay_s)
    else:
        await msg.term()
    return disposition.action
