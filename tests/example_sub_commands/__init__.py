"""Sub-commands declared only for the tests, discovered as `handlers/commands/` is."""
