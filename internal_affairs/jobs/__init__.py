"""The one scheduler process (``flask --app wsgi scheduler run``): outbox delivery and the time
limit scan, guarded by a database lease so a second scheduler started by mistake does nothing."""
