"""What each action does, one module per action, used by both the web pages (``chalicelib.web``)
and the SMS commands (``chalicelib.sms_commands``), so the two cannot drift.

Each module exposes one function taking what the action acts on (the stored mention, or a
rule), the actor (the ``Recipient`` the link or the phone resolved to: every change is
recorded as theirs), the action's parameters and the dependencies it needs (store, config,
clock, poster, mailer), and returns an ``Outcome`` in the owner's words. Holding a link's
nonce, auditing and the SMS hourly limits are the channels' (``chalicelib.web``,
``chalicelib.sms_commands``), done once there for every action.

    handled       mark handled                 snooze        alert again later
    mute_author   no more alerts of an author  mute_thread   no more alerts of a conversation
    assign        give to another recipient    reply         post a reply (or the link to paste it)
    not_relevant  mark not relevant; the exclusions that would have kept it out
    exclude       add an exclusion to a rule   raise_cap     raise a rule's daily cap for today
    unsubscribe   no more alert emails to an address
    wrong_label   the owner says what it is (complaint, question, praise, not for us)
    unhold        "That's wrong" on a mention the feedback model held back: back to new
"""

from __future__ import annotations
