"""The [trace] section: how owners of addresses are looked up (RDAP) and cached."""

from __future__ import annotations

from bot.config.model import MAX_TRACE_CONCURRENCY, TRACE_ASN_METHODS, TraceSettings
from bot.config.validation import Section


def read_trace(root: Section) -> TraceSettings:
    section = root.table("trace", ("ttl", "timeout", "asn_methods", "max_concurrent"))
    if section is None:
        return TraceSettings()
    return TraceSettings(
        ttl=section.duration("ttl", TraceSettings.ttl, 60.0),
        timeout=section.duration("timeout", TraceSettings.timeout, 0.0, exclusive=True),
        asn_methods=_read_asn_methods(section),
        max_concurrent=section.ranged_integer("max_concurrent", 1, MAX_TRACE_CONCURRENCY)
        or TraceSettings.max_concurrent,
    )


def _read_asn_methods(section: Section) -> tuple[str, ...]:
    form = f"one of {', '.join(TRACE_ASN_METHODS)}"
    if not section.has("asn_methods"):
        return TraceSettings.asn_methods
    methods: list[str] = []
    valid = True
    for key, value in section.strings("asn_methods", form):
        if value not in TRACE_ASN_METHODS:
            section.problems.add(key, f"{value!r} is not an ASN method; expected {form}")
            valid = False
        elif value in methods:
            section.problems.add(key, f"{value!r} is listed twice; expected each method once")
            valid = False
        else:
            methods.append(value)
    if section.data["asn_methods"] == []:
        section.problem("asn_methods", f'is empty; expected at least one method, each {form} (default: ["http"])')
    return tuple(methods) if valid and methods else TraceSettings.asn_methods
