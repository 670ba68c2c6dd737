"""ibmi-warden: a Slack bot that watches IBM i partitions and asks before it changes them."""

__version__ = "0.1.0"
