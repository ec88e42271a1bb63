"""The demo inbox: several hundred realistic conversations through the real intake and
analysis (one test: it analyses every message)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction, utcnow
from stemme.identity.models import User
from stemme.inbox import demo_inbox, service
from stemme.inbox.models import OUTCOMES, Conversation, DistrictHours, Feedback, Message
from stemme.privacy.crypto import Keyring

PHONE = re.compile(r"\b9\d{7}\b")


def test_load_builds_a_realistic_inbox(
    sessions: sessionmaker[Session], keyring: Keyring, make_user: Callable[..., User]
) -> None:
    operator = make_user("operator", ["Oslo"])
    with transaction(sessions) as session:
        assert demo_inbox.load(session, keyring) == 400
    with sessions() as session:
        conversations = session.scalars(select(Conversation)).all()
        assert len(conversations) == 400
        assert service.pending_count(session) == 0  # everything analysed
        districts = Counter(c.district for c in conversations)
        assert len(districts) >= 10
        assert None not in districts
        assert set(Counter(c.channel for c in conversations)) == {
            "messenger",
            "instagram",
            "webchat",
            "email",
        }
        urgent = [c for c in conversations if c.urgent]
        assert urgent
        assert all(c.emergency_replied for c in urgent)
        assert {c.category for c in urgent} & {"emergency", "concern_for_child"}
        closed = [c for c in conversations if c.status == "closed"]
        assert len(closed) > len(conversations) / 2
        assert all(c.outcome in OUTCOMES for c in closed)
        assert all(c.first_response_at is not None for c in closed)
        assert all(c.first_response_at >= c.created_at for c in closed if c.first_response_at)
        assert {c.outcome for c in urgent if c.status == "closed"} <= {"referred_112"}
        assert len({c.outcome for c in closed}) >= 4
        open_ = [c for c in conversations if c.status != "closed"]
        assert open_  # the newest still wait in the queue
        oldest = utcnow() - timedelta(days=demo_inbox.DAYS, hours=11)
        assert all(c.created_at > oldest for c in conversations)
        feedback = session.scalars(select(Feedback)).all()
        assert 0 < len(feedback) < len(closed)
        assert all(f.rating in (1, 2, 3, 4, 5) for f in feedback)
        # replies are stored like operators' replies, sent; an Oslo conversation is Oslo's
        replies = session.scalars(select(Message).where(Message.kind == "reply")).all()
        assert len(replies) == len(closed)
        assert {r.delivery for r in replies} == {"sent"}
        oslo_authors = {
            r.author_id for r in replies if r.conversation.district == "Oslo" and r.author_id
        }
        assert oslo_authors == {operator.id}
        # automatic answers count as sent; Finnmark's night messages got the out-of-hours one
        automatic = session.scalars(
            select(Message).where(Message.kind.in_(("emergency", "out_of_hours")))
        ).all()
        assert {m.delivery for m in automatic} == {"sent"}
        assert session.get(DistrictHours, "Finnmark") is not None
        # the invented phone numbers (9 and seven digits) are redacted everywhere
        texts = session.scalars(select(Message.redacted_text)).all()
        assert not [t for t in texts if t and PHONE.search(t)]
        assert any("<PHONE>" in t for t in texts if t)
        assert session.scalar(select(func.count(Message.id))) >= 400
