"""Virtual hold, as part of the pure conversation machine (acd/conversation.py).

The caller arranges a callback (the key, or max wait), gives a number and hangs up: the router
keeps the call in its place (same entry time and sequence) while nobody is on the line. When
an agent takes it, the agent hears why, and the caller's number is dialled once per attempt
through the trunk, on a channel id derived from the attempt (Asterisk refuses a second channel
with the same id, so an attempt can never dial twice). Answered: the caller is put through.
Not reached: the agent is free at once and the callback goes back to its place, given up after
`callback.attempts`; not made by its deadline, a voice message takes its place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acd.callbacks import Verdict
from acd.channel_events import ChannelAnswered, ChannelEvent, ChannelHangup
from acd.conversation_actions import (
    AskCallbackNumber,
    BookingAnswer,
    CallbackClosed,
    CallbackWhisper,
    CitizenOnLine,
    ConversationAction,
    Count,
    DialCitizen,
    EndCall,
    ForgetCitizen,
    HangUpAgent,
    Log,
    QuietCaller,
    Record,
    Settle,
    StartMusic,
    StopCallbackWhisper,
    Tell,
    ToVoicemail,
)
from acd.filing import RouterError
from ivr.speech import digits

if TYPE_CHECKING:
    from acd.router import Router

Actions = list[ConversationAction]

# The segment outcome when the caller's phone rang out, was busy or unreachable.
UNREACHED = "not_reached"


@dataclass
class Callback:
    """One caller's booked callback: the number, by when, the attempts, the channel dialled."""

    number: str
    deadline: float = math.inf
    attempt: int = 0
    citizen_channel: str | None = None
    done: bool = False  # the conversation took place (the promise is kept)


class CallingBack:
    """The virtual-hold half of the Conversation machine (mixed into it)."""

    router: Router
    call_id: str
    queue: str
    entered: float
    priority: int
    phase: str
    agent: str | None
    agent_channel: str | None
    callback: Callback | None
    max_waited: bool  # the callback is being arranged because of max_wait_seconds

    def next_id(self) -> int:  # provided by Conversation
        raise NotImplementedError

    def bridge(self, now: float) -> Actions:  # provided by Conversation
        raise NotImplementedError

    # --- arranging (the caller on the line, before anyone is dialled)
    def arrange_callback(self, why: tuple[str, ...] = ()) -> Actions:
        """The caller wants to be called back: hold the place while they give the number
        (nothing if an agent is ringing for them right now)."""
        try:
            decisions = self.router.hold(self.call_id)
        except RouterError:
            return []
        self.phase = "arranging"
        self.max_waited = bool(why)
        return [
            Tell(decisions),
            QuietCaller(),
            Log("callback_offered_taken", {"queue": self.queue}),
            AskCallbackNumber(why),
        ]

    def callback_instead(self) -> bool:
        """At max wait: book a callback in the caller's place rather than a voice message."""
        spec = self.router.config.queues.get(self.queue)
        enabled = self.router.config.callback.enabled
        return enabled and spec is not None and spec.on_max_wait == "callback"

    def max_wait_callback(self, now: float) -> Actions:
        """Max wait reached in a queue that books a callback instead of a voice message: the
        caller is put back in place, held, and asked for the number."""
        out: Actions = [Record("overflow", {"queue": self.queue, "reason": "max_wait"})]
        decisions = self.router.enqueue(
            self.call_id, self.queue, self.priority, now, self.entered, held=True
        )
        out.append(Tell(decisions))
        if self.call_id in self.router.waiting:  # back in place, held
            out += self.arrange_callback(("queue-long-wait",))
        return out

    def callback_booking(
        self, verdict: Verdict, number: str, now: float, language: str, caller: str
    ) -> Actions:
        """The caller confirmed the number; `verdict` of the center's book: booked (they may
        hang up and keep their place), or refused: the number has a callback pending (that
        one keeps its place, this call ends) or has booked enough today (the caller keeps
        waiting on the line, or leaves a voice message when waiting on is over)."""
        out: Actions = [Log("callback_booking", {"number_tail": number[-4:], "verdict": verdict})]
        if verdict == "booked":
            deadline = self.router.callback_deadline(self.queue, now)
            self.callback = Callback(number=number, deadline=deadline)
            self.phase = "callback"
            booked = {
                "number": number,
                "queue": self.queue,
                "entered": self.entered,
                "priority": self.priority,
                "language": language,
                "caller": caller,
                "deadline": deadline if math.isfinite(deadline) else None,
            }
            out += [
                Record("callback_requested", booked),
                Log("callback_requested", {"number_tail": number[-4:], "queue": self.queue}),
                Tell(self.router.to_callback(self.call_id, now, deadline)),
            ]
        elif verdict == "exists":
            out += [
                Record("callback_refused", {"reason": "pending", "number": number}),
                Tell(self.router.caller_left(self.call_id, now)),
            ]
            self.phase = "done"
            out.append(Settle("callback_duplicate"))
        else:
            out.append(Record("callback_refused", {"reason": "daily_limit", "number": number}))
            if self.max_waited:  # waiting on is no longer offered: a voice message instead
                return out + self._to_voicemail(now)
        return [*out, BookingAnswer(verdict)]

    def resume_waiting(self, now: float) -> Actions:
        """The caller arranging a callback stays on the line after all, in their place (at
        max wait, where waiting on is over, they leave a voice message instead)."""
        if self.phase != "arranging":
            return []
        if self.max_waited:
            return self._to_voicemail(now)
        self.phase = "waiting"
        return [
            Log("callback_not_booked_waiting_on", {}),
            StartMusic(),
            Tell(self.router.release(self.call_id, now)),
        ]

    def _to_voicemail(self, now: float) -> Actions:
        # (The overflow itself was recorded when max wait was reached.)
        decisions = self.router.caller_left(self.call_id, now)
        self.phase = "done"
        return [Tell(decisions), ToVoicemail()]

    # --- calling the caller back
    def dial_citizen(self, agent: str, agent_channel: str) -> Actions:
        """The agent took the callback: tell them, then ring the caller (a new channel per
        attempt)."""
        hold = self.callback
        assert hold is not None
        hold.attempt += 1
        channel = f"{self.call_id}-cb{hold.attempt}-{self.next_id()}"
        hold.citizen_channel = channel
        ring = self.router.config.callback.ring_seconds
        return [
            Record("callback_attempt", {"agent": agent, "attempt": hold.attempt}),
            Log("callback_dialling", {"agent": agent, "attempt": hold.attempt}),
            CallbackWhisper(agent_channel, ("callback-whisper", *digits(hold.number))),
            DialCitizen(channel, hold.number, ring),
        ]

    def on_citizen(self, channel: str, event: ChannelEvent | None, now: float) -> Actions | None:
        """An event of the call-back channel (`event`: None for a kind read only as the
        caller's line); None once that channel is the caller's line."""
        hold = self.callback
        if hold is None:
            return []
        if channel != hold.citizen_channel:
            return []  # an earlier attempt's channel
        if self.phase != "dialing":
            return None
        if isinstance(event, ChannelAnswered):
            return self._citizen_answered(event, now)
        if isinstance(event, ChannelHangup):
            cause = "" if event.cause is None else event.cause
            return self.citizen_not_reached(now, f"cause {cause}")
        return []

    def _citizen_answered(self, event: ChannelAnswered, now: float) -> Actions:
        hold = self.callback
        assert hold is not None and self.agent is not None and self.agent_channel is not None
        return [
            Tell(self.router.callback_result(self.call_id, self.agent, True, now)),
            CitizenOnLine(event.channel, event.name),
            Record("callback_answered", {"attempt": hold.attempt}),
            Record("segment_answered", {"agent": self.agent}),
            Count("answered", self.queue),
            StopCallbackWhisper(self.agent_channel),
            *self.bridge(now),
        ]

    def citizen_not_reached(self, now: float, why: str, outcome: str = UNREACHED) -> Actions:
        """The caller's phone did not answer (or could not be dialled): the agent is free,
        the call back in its place (or given up, the router says, after the last attempt)."""
        hold = self.callback
        assert hold is not None
        agent, agent_channel = self.agent, self.agent_channel
        out: Actions = []
        if hold.citizen_channel is not None:
            out.append(ForgetCitizen(hold.citizen_channel))
        hold.citizen_channel = None
        self.agent = self.agent_channel = None
        self.phase = "callback"
        out += [
            Record("callback_attempt_failed", {"attempt": hold.attempt, "why": why}),
            Log("callback_not_reached", {"attempt": hold.attempt, "why": why}),
        ]
        if agent is None:
            return out
        out.append(Record("segment_ended", {"agent": agent, "outcome": outcome}))
        if agent_channel:
            out.append(HangUpAgent(agent_channel))
        return [*out, Tell(self.router.callback_result(self.call_id, agent, False, now))]

    def agent_left_dialing(self, now: float) -> Actions:
        """The agent hung up before the caller answered: stop ringing them; try again later."""
        hold = self.callback
        assert hold is not None
        out: Actions = []
        if hold.citizen_channel:
            out.append(ForgetCitizen(hold.citizen_channel, hang_up=True))
            hold.citizen_channel = None
        self.agent_channel = None  # already gone
        return out + self.citizen_not_reached(now, "agent_hangup", outcome="agent_hangup")

    # --- endings
    def callback_overflow(
        self, reason: str, now: float, due_on: str, caller: str
    ) -> Actions | None:
        """The router gives a booked callback up: past its deadline (a voice message with
        the promised answer date `due_on` takes its place, so the citizen is not forgotten),
        or every attempt failed or its queue cannot serve it. None: not a callback's."""
        hold = self.callback
        if hold is None:
            return None
        if reason == "callback_deadline":
            self.phase = "done"
            expired = {"status": "expired", "reason": "deadline"}
            voicemail = {
                "recording": None,
                "seconds": 0,
                "caller": caller,
                "callback": hold.number,
                "due_on": due_on,
                "origin": "callback_expired",
            }
            return [
                Record("voicemail", voicemail),
                Record("callback_finished", {**expired, "agent": None}),
                Log(
                    "callback_expired",
                    {"number_tail": hold.number[-4:], "due_on": due_on},
                    "warning",
                ),
                *self._end(hold, "callback_expired", "callback_deadline"),
            ]
        if self.phase not in ("callback", "dialing"):
            return None
        self.phase = "done"
        failed = {"status": "failed", "reason": reason, "agent": None}
        return [Record("callback_finished", failed), *self._end(hold, "callback_failed", reason)]

    def _end(self, hold: Callback, disposition: str, why: str) -> Actions:
        """The callback is over without a conversation: close the call (and the line, if the
        caller is still on it, hearing that the callback is booked)."""
        return [CallbackClosed(hold.number), Settle(disposition), EndCall(why)]

    def callback_kept(self, agent: str | None) -> Actions:
        """The callback conversation took place (at its end, or when the agent hands the
        caller on: the promise is kept either way); nothing if this call is no callback."""
        hold = self.callback
        if hold is None or hold.done:
            return []
        hold.done = True
        kept = {"status": "done", "reason": "", "agent": agent}
        return [Record("callback_finished", kept), CallbackClosed(hold.number)]
