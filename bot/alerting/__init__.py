"""The alert lifecycle as a pipeline of small stages, after Prometheus Alertmanager's notify stages.

One run of one check on one system goes through:
  diff (diff.py)            what changed against the stored alerts: new, still open, reminder due, reopened,
                            a clean run counted, resolved;
  silence (silences.py)     silenced alerts are tracked, not announced;
  route, group (routing.py) which channels take an alert's severity; one message per system, check and channel;
  render (render.py)        the Block Kit messages and thread replies;
  enqueue (enqueue.py)      alert state and the outbox items that announce it, in one transaction.
`AlertManager.process` (lifecycle.py) composes them. silences.py is also the one place silences are added
and ended; owners.py adds the owner of an address to an alert after it is posted.
"""
