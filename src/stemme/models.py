"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from stemme.channels import pages as channel_pages
from stemme.channels import ratelimit as rate_limits
from stemme.db import Base
from stemme.identity import models as identity_models
from stemme.inbox import models as inbox_models

__all__ = ["Base", "channel_pages", "identity_models", "inbox_models", "rate_limits"]
