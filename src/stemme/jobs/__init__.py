"""Background work. For now one job: analysing received messages (``stemme.inbox``).

``Worker`` runs the loop in a thread of the web process (``settings.run_jobs_in_process``)
or in the foreground (``stemme worker``). ``notify()`` wakes every worker of this process
at once, e.g. right after a channel adapter stored a message.
"""

from stemme.jobs.runner import Worker, notify

__all__ = ["Worker", "notify"]
