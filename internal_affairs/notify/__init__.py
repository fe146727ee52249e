"""Notifications: an outbox written in the transaction of the event that causes it, delivered
after commit by the one scheduler to the in-app list, mail (SMTP) and a chat robot webhook."""
