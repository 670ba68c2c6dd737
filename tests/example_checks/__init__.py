"""Checks that exist only for the tests: a package the registry can walk like bot/checks."""
