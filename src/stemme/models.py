"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from stemme.db import Base
from stemme.identity import models as identity_models
from stemme.inbox import models as inbox_models

__all__ = ["Base", "identity_models", "inbox_models"]
