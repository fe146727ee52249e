"""Cases end to end: submission, the task engine, decisions, inbox, attachments."""
