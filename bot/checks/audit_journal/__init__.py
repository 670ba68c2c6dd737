"""What the audit-journal checks share: reading QAUDJRN incrementally (reading.py) and telling from the audit
system values which entries the system records at all (auditing.py). Not a check itself (no `CHECK`)."""
