"""Changes to an IBM i: the requests people make (`requests`), the approval state machine that runs them
(`approvals`), and their Slack messages (`render`)."""
