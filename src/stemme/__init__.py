"""stemme — listen to citizens systematically and act on what they hear."""

__version__ = "0.1.0"
