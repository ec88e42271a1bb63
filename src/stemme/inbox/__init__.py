"""The nettpatrulje inbox: conversations from every channel in one triaged queue."""
