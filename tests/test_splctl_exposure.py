"""splctl-exposure is pure: user profiles, output queues and settings in, findings out."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checks.splctl_exposure import CHECK_ID, SPLCTL_WHY, SplctlSettings, evaluate
from bot.ibmi import sql
from bot.ibmi.rows import OutputQueue, UserProfile
from bot.ibmi_settings import open_system
from tests.conftest import demo_settings


def user(
    name: str,
    status: str | None = "*ENABLED",
    special: str = "",
    groups: dict[str, tuple[str, ...]] | None = None,
    text: str | None = None,
    previous_signon: str | None = "2026-11-20 08:14:00",
) -> UserProfile:
    return UserProfile(
        name=name,
        status=status,
        special_authorities=frozenset(special.split()),
        group_profile=None,
        text=text,
        previous_signon=previous_signon,
        inherited_authorities=groups or {},
    )


def outq(
    library: str = "APPLIB",
    name: str = "REPORTS",
    files: int | None = 10,
    dspdta: str | None = "*NO",
    oprctl: str | None = "*NO",
    autchk: str | None = "*OWNER",
    public: str | None = "*USE",
    text: str | None = None,
) -> OutputQueue:
    return OutputQueue(library, name, files, dspdta, oprctl, autchk, text, public)


QSECOFR = user("QSECOFR", special="*ALLOBJ *JOBCTL *SPLCTL")
QSYSOPR = user("QSYSOPR", special="*JOBCTL *SAVSYS")
SAFE_QUEUE = outq()


def run(holders=(QSECOFR,), queues=(SAFE_QUEUE,), jobctl=(QSECOFR, QSYSOPR), **options):
    return evaluate("PROD", holders, queues, jobctl, SplctlSettings(**options))


def subjects(findings):
    return {f.subject: f for f in findings}


def test_nothing_to_report_is_an_empty_list():
    assert run() == []


# --- *SPLCTL holders -----------------------------------------------------------------------------


def test_a_direct_holder_not_on_the_allow_list_is_a_warning():
    [finding] = run(holders=[QSECOFR, user("PRTADMIN", special="*SPLCTL", text="Print administrator")])
    assert finding.check == CHECK_ID and finding.subject == "holder:PRTADMIN" and finding.severity == "warning"
    assert finding.title == "PRTADMIN holds *SPLCTL"
    assert finding.details[0] == SPLCTL_WHY
    assert "equivalent of *ALLOBJ" in SPLCTL_WHY and "Spooled file security" in SPLCTL_WHY
    assert "Profile text: Print administrator" in finding.details
    assert finding.facts == {
        "profile": "PRTADMIN",
        "status": "*ENABLED",
        "direct": True,
        "groups": [],
        "text": "Print administrator",
        "previous_signon": "2026-11-20 08:14:00",
    }


def test_a_holder_through_a_disabled_group_is_named_with_the_group_and_the_group_is_not():
    group = user("OPSGRP", status="*DISABLED", special="*JOBCTL *SPLCTL")
    member = user("JSMITH", groups={"*SPLCTL": ("OPSGRP",)}, previous_signon=None)
    [finding] = run(holders=[QSECOFR, group, member])
    assert finding.subject == "holder:JSMITH"
    assert finding.title == "JSMITH holds *SPLCTL through group profile OPSGRP"
    assert any(d.startswith("Granted by group profile OPSGRP") for d in finding.details)
    assert "Never signed on." in finding.details
    assert finding.facts["direct"] is False and finding.facts["groups"] == ["OPSGRP"]


def test_direct_and_group_grants_are_both_told():
    both = user("AB", special="*SPLCTL", groups={"*SPLCTL": ("G1", "G2")})
    [finding] = run(holders=[QSECOFR, both])
    assert finding.title == "AB holds *SPLCTL directly and through group profiles G1, G2"


def test_disabled_profiles_are_not_findings_but_unknown_status_is():
    old = user("OLDADMIN", "*DISABLED", "*ALLOBJ *SPLCTL")
    [finding] = run(holders=[QSECOFR, old, user("ODD", "LOCKED", "*SPLCTL")])
    assert finding.subject == "holder:ODD"
    assert any("neither *ENABLED nor *DISABLED" in d for d in finding.details)
    assert run(holders=[QSECOFR, user("OLD2", "DISABLED", "*SPLCTL")]) == []  # no asterisk: still disabled


def test_allow_list_is_case_insensitive_and_ignores_spaces():
    holders = [QSECOFR, user("PRTADMIN", special="*SPLCTL")]
    assert run(holders=holders, allowed_holders=(" qsecofr ", "prtAdmin")) == []
    [finding] = run(holders=holders, allowed_holders=("PRTADMIN",))
    assert finding.subject == "holder:QSECOFR"


def test_an_allowed_group_covers_members_that_hold_it_only_through_that_group():
    member = user("JSMITH", groups={"*SPLCTL": ("OPSGRP",)})
    mixed = user("MLOPEZ", groups={"*SPLCTL": ("OPSGRP", "OTHER")})
    direct = user("PRTADMIN", special="*SPLCTL", groups={"*SPLCTL": ("OPSGRP",)})
    findings = run(holders=[QSECOFR, member, mixed, direct], allowed_holders=("QSECOFR", "opsgrp"))
    assert [f.subject for f in findings] == ["holder:MLOPEZ", "holder:PRTADMIN"]


def test_profiles_that_do_not_hold_splctl_are_ignored():
    assert run(holders=[QSECOFR, user("PLAIN", special="*JOBCTL", groups={"*JOBCTL": ("X",)})]) == []


# --- cannot see ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holders", "queues", "jobctl", "severity", "label"),
    [
        (None, [SAFE_QUEUE], [QSECOFR], "warning", "*SPLCTL holders not readable"),
        ([], [SAFE_QUEUE], [QSECOFR], "warning", "no *SPLCTL holder visible"),
        ([QSECOFR], None, [QSECOFR], "warning", "output queues not readable"),
        ([QSECOFR], [], [QSECOFR], "warning", "no output queue visible"),
        ([QSECOFR], [SAFE_QUEUE], None, "info", "*JOBCTL holders not readable"),
    ],
)
def test_what_cannot_be_read_is_said_with_the_authority_needed(holders, queues, jobctl, severity, label):
    [finding] = evaluate("PROD", holders, queues, jobctl, SplctlSettings())
    assert finding.subject == "visibility" and finding.severity == severity
    assert finding.facts["unreadable"] == [label] and label in finding.title
    assert any(word in " ".join(finding.details) for word in ("*READ", "could not be read"))


def test_everything_unreadable_is_one_finding_listing_all_three():
    [finding] = evaluate("PROD", None, None, None, SplctlSettings())
    assert finding.severity == "warning"
    assert finding.facts["unreadable"] == [
        "*SPLCTL holders not readable",
        "output queues not readable",
        "*JOBCTL holders not readable",
    ]
    assert "QIBM_DB_SECADM" in " ".join(finding.details)


def test_unreadable_queues_do_not_hide_holder_findings():
    findings = run(holders=[QSECOFR, user("PRTADMIN", special="*SPLCTL")], queues=None)
    assert [f.subject for f in findings] == ["visibility", "holder:PRTADMIN"]


# --- output queues -------------------------------------------------------------------------------


def test_oprctl_yes_alone_is_information_naming_the_enabled_jobctl_holders():
    group = user("OPSGRP", status="*DISABLED", special="*JOBCTL")
    member = user("JSMITH", groups={"*JOBCTL": ("OPSGRP",)})
    gone = user("GONE", status="*DISABLED", special="*JOBCTL")
    [finding] = run(queues=[outq(oprctl="*YES")], jobctl=[QSECOFR, QSYSOPR, group, member, gone])
    assert finding.subject == "outq:APPLIB/REPORTS" and finding.severity == "info"
    assert finding.title == "Output queue APPLIB/REPORTS exposes its spooled files: OPRCTL(*YES) (10 spooled files)"
    [sentence] = finding.details
    assert sentence.startswith("OPRCTL(*YES): every user with *JOBCTL special authority and *EXECUTE on library APPLIB")
    assert "enabled *JOBCTL holders: JSMITH (via OPSGRP), QSECOFR, QSYSOPR." in sentence
    assert "display, copy and send them too" in sentence  # DSPDTA(*NO) does not stop them
    assert finding.facts["jobctl_holders"] == ["JSMITH", "QSECOFR", "QSYSOPR"]
    assert finding.facts["issues"] == ["oprctl"] and finding.facts["unknown"] == []


def test_dspdta_owner_keeps_jobctl_users_from_displaying():
    [finding] = run(queues=[outq(oprctl="*YES", dspdta="*OWNER")])
    assert "DSPDTA(*OWNER) keeps them from displaying" in finding.details[0]


def test_oprctl_sentence_says_when_jobctl_holders_could_not_be_read():
    findings = run(queues=[outq(oprctl="*YES")], jobctl=None)
    queue = subjects(findings)["outq:APPLIB/REPORTS"]
    assert "*JOBCTL holders could not be read" in queue.details[0]
    assert queue.facts["jobctl_holders"] is None
    assert subjects(findings)["visibility"].severity == "info"
    [none_visible] = run(queues=[outq(oprctl="*YES")], jobctl=[])
    assert "no enabled *JOBCTL holder is visible to the bot" in none_visible.details[0]


def test_oprctl_sentence_caps_a_long_holder_list():
    many = [user(f"OP{i:02}", special="*JOBCTL") for i in range(14)]
    [finding] = run(queues=[outq(oprctl="*YES")], jobctl=many)
    assert finding.details[0].endswith("OP09 and 4 more.")
    assert len(finding.facts["jobctl_holders"]) == 14


@pytest.mark.parametrize("public", ["*USE", "*CHANGE", "*ALL", "USE", " *all "])
def test_dspdta_yes_with_public_use_or_more_is_a_warning(public):
    [finding] = run(queues=[outq(dspdta="*YES", public=public)])
    assert finding.severity == "warning" and finding.facts["issues"] == ["dspdta-public"]
    assert "every user without a private authority of their own can display, copy, send" in finding.details[0]


def test_dspdta_yes_with_public_exclude_is_not_a_finding():
    assert run(queues=[outq(dspdta="*YES", public="*EXCLUDE")]) == []


def test_dtaaut_with_public_change_or_all_is_a_warning_but_not_with_use():
    [finding] = run(queues=[outq(autchk="*DTAAUT", public="*CHANGE")])
    assert finding.severity == "warning" and finding.facts["issues"] == ["dtaaut-public"]
    assert "*READ, *ADD and *DLT" in finding.details[0]
    assert run(queues=[outq(autchk="*DTAAUT", public="*ALL")])[0].facts["issues"] == ["dtaaut-public"]
    assert run(queues=[outq(autchk="*DTAAUT", public="*USE")]) == []


def test_all_issues_of_one_queue_are_one_finding_severest_first_one_sentence_each():
    queue = outq(dspdta="*YES", oprctl="*YES", autchk="*DTAAUT", public="*CHANGE", text="Shared output")
    [finding] = run(queues=[queue])
    assert finding.facts["issues"] == ["dspdta-public", "dtaaut-public", "oprctl"]
    assert finding.details[0].startswith("DSPDTA(*YES) with *PUBLIC *CHANGE")
    assert finding.details[1].startswith("AUTCHK(*DTAAUT) with *PUBLIC *CHANGE")
    assert finding.details[2].startswith("OPRCTL(*YES)")
    assert finding.details[3] == "Queue text: Shared output"


@pytest.mark.parametrize(
    "spelling", [("*YES", "*YES", "*DTAAUT"), ("YES", "YES", "DTAAUT"), (" *yes", "yes ", "dtaaut")]
)
def test_value_formats_with_or_without_asterisk_are_the_same(spelling):
    dspdta, oprctl, autchk = spelling
    [finding] = run(queues=[outq(dspdta=dspdta, oprctl=oprctl, autchk=autchk, public="*CHANGE")])
    assert finding.facts["issues"] == ["dspdta-public", "dtaaut-public", "oprctl"] and finding.facts["unknown"] == []


def test_unknown_public_authority_is_said_never_taken_as_safe():
    [finding] = run(queues=[outq(dspdta="*YES", public=None)])
    assert finding.severity == "info"
    assert finding.facts["issues"] == [] and finding.facts["unknown"] == ["dspdta-public"]
    assert finding.title.startswith("Output queue APPLIB/REPORTS: exposure cannot be ruled out")
    assert any("DSPOBJAUT OBJ(APPLIB/REPORTS) OBJTYPE(*OUTQ)" in d and "QIBM_DB_SECADM" in d for d in finding.details)
    [user_defined] = run(queues=[outq(autchk="*DTAAUT", public="USER DEF")])
    assert user_defined.facts["unknown"] == ["dtaaut-public"]
    assert any("read as 'USER DEF'" in d for d in user_defined.details)


def test_unrecognised_queue_values_are_unknown_where_they_matter():
    [finding] = run(queues=[outq(oprctl=None, dspdta="MAYBE", autchk="", public="*ALL")])
    assert finding.facts["unknown"] == ["oprctl", "dspdta-public", "dtaaut-public"]
    text = " ".join(finding.details)
    assert "OPRCTL read as NULL" in text and "DSPDTA read as 'MAYBE'" in text and "AUTCHK read as ''" in text
    # Where an unknown value cannot open anything, it is not a finding: *PUBLIC *EXCLUDE
    assert run(queues=[outq(dspdta="MAYBE", autchk="?", public="*EXCLUDE")]) == []


def test_unknown_values_combine_with_confirmed_issues_in_one_finding():
    [finding] = run(queues=[outq(dspdta="*YES", public="*USE", autchk=None)])
    assert finding.severity == "warning"
    assert finding.facts["issues"] == ["dspdta-public"] and finding.facts["unknown"] == []  # *USE: no *DLT anyway
    [finding] = run(queues=[outq(dspdta="*YES", public="*CHANGE", autchk=None)])
    assert finding.facts["issues"] == ["dspdta-public"] and finding.facts["unknown"] == ["dtaaut-public"]
    assert finding.title.startswith("Output queue APPLIB/REPORTS exposes its spooled files: DSPDTA(*YES)")


def test_sensitive_queues_are_raised_one_level_matching_name_or_library_case_insensitively():
    cases = {
        outq("PAYLIB", "CHEQUES", oprctl="*YES"): "PAY*",  # LIB/NAME matches PAY*
        outq("APPLIB", "payslips", oprctl="*YES"): "PAY*",  # name, lower case
        outq("hrlib", "X", oprctl="*YES"): "HR*",
    }
    for queue, pattern in cases.items():
        [finding] = run(queues=[queue])
        assert finding.severity == "warning" and finding.facts["sensitive_pattern"] == pattern
        assert f"Matches sensitive queue pattern {pattern}: severity raised one level." in finding.details
    [plain] = run(queues=[outq("APPLIB", "REPORTS", oprctl="*YES")])
    assert plain.severity == "info" and plain.facts["sensitive_pattern"] is None
    [custom] = run(queues=[outq("APPLIB", "REPORTS", oprctl="*YES")], sensitive_queues=("applib/rep*",))
    assert custom.severity == "warning"


def test_many_files_raise_one_level_and_severity_caps_at_critical():
    assert run(queues=[outq(oprctl="*YES", files=100)])[0].severity == "warning"
    assert run(queues=[outq(oprctl="*YES", files=99)])[0].severity == "info"
    assert run(queues=[outq(oprctl="*YES", files=None)])[0].severity == "info"
    assert run(queues=[outq("PAYLIB", oprctl="*YES", files=500)])[0].severity == "critical"
    capped = run(queues=[outq("PAYLIB", dspdta="*YES", files=500)])[0]
    assert capped.severity == "critical" and capped.facts["many_files"] is True
    assert any("at least many_files (100)" in d for d in capped.details)
    assert run(queues=[outq(oprctl="*YES", files=10**6)], many_files=0)[0].severity == "info"
    assert run(queues=[outq(oprctl="*YES", files=5)], many_files=5)[0].severity == "warning"


def test_oprctl_only_queues_can_be_left_out_unless_raised():
    quiet = {"report_oprctl_only": False}
    assert run(queues=[outq(oprctl="*YES")], **quiet) == []
    assert run(queues=[outq("PAYLIB", oprctl="*YES")], **quiet)[0].severity == "warning"
    assert run(queues=[outq(oprctl="*YES", files=1000)], **quiet)[0].severity == "warning"
    assert run(queues=[outq(oprctl=None)], **quiet)[0].facts["unknown"] == ["oprctl"]  # unknown: still said
    assert run(queues=[outq(oprctl="*YES", dspdta="*YES")], **quiet)[0].severity == "warning"


def test_subject_and_order_are_stable():
    findings = run(
        holders=[QSECOFR, user("ZED", special="*SPLCTL"), user("ABE", special="*SPLCTL")],
        queues=[outq("QGPL", "B", oprctl="*YES"), outq("PAYLIB", "A", oprctl="*YES"), SAFE_QUEUE],
    )
    assert [f.subject for f in findings] == ["holder:ABE", "holder:ZED", "outq:PAYLIB/A", "outq:QGPL/B"]


# --- settings ------------------------------------------------------------------------------------


def test_settings_build_from_toml_lists():
    built = SplctlSettings(allowed_holders=["QSECOFR", "PRTADMIN"], sensitive_queues=["PAY*"], many_files=50)
    assert built.allowed_holders == ("QSECOFR", "PRTADMIN") and built.sensitive_queues == ("PAY*",)
    assert SplctlSettings().allowed_holders == ("QSECOFR",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"allowed_holders": "QSECOFR"}, "allowed_holders must be a list"),
        ({"allowed_holders": ["QSECOFR", ""]}, "allowed_holders must hold non-empty strings"),
        ({"sensitive_queues": [3]}, "sensitive_queues must hold non-empty strings"),
        ({"many_files": -1}, "many_files must be a whole number"),
        ({"many_files": True}, "many_files must be a whole number"),
        ({"report_oprctl_only": "no"}, "report_oprctl_only must be true or false"),
    ],
)
def test_bad_settings_say_what_is_wrong(options, message):
    with pytest.raises(ValueError, match=message):
        SplctlSettings(**options)


# --- never treat unknown as safe -----------------------------------------------------------------

DSPDTA = st.sampled_from(["*YES", "*NO", "*OWNER"])
OPRCTL = st.sampled_from(["*YES", "*NO"])
AUTCHK = st.sampled_from(["*OWNER", "*DTAAUT"])
PUBLIC = st.sampled_from(["*EXCLUDE", "*USE", "*CHANGE", "*ALL"])
UNKNOWN = st.sampled_from([None, "", "?", "USER DEF"])


@settings(max_examples=300, deadline=None)
@given(DSPDTA, OPRCTL, AUTCHK, PUBLIC, st.sampled_from(["dspdta", "oprctl", "autchk", "public"]), UNKNOWN)
def test_replacing_a_known_value_by_an_unknown_one_never_hides_an_exposure(dspdta, oprctl, autchk, public, which, odd):
    known = dict(dspdta=dspdta, oprctl=oprctl, autchk=autchk, public=public)
    blurred = {**known, which: odd}
    before = run(queues=[outq(**known)])
    after = run(queues=[outq(**blurred)])
    if before:
        assert after, f"{which}={odd!r} hid {before[0].facts['issues']}"
        assert set(before[0].facts["issues"]) <= set(after[0].facts["issues"]) | set(after[0].facts["unknown"])


@settings(max_examples=200, deadline=None)
@given(DSPDTA, OPRCTL, AUTCHK, PUBLIC, st.text("PAYHRXQ*", max_size=6), st.one_of(st.none(), st.integers(0, 500)))
def test_severity_is_baseline_plus_raises_capped_at_critical(dspdta, oprctl, autchk, public, name, files):
    queue = outq("APPLIB", name or "Q", files=files, dspdta=dspdta, oprctl=oprctl, autchk=autchk, public=public)
    findings = run(queues=[queue])
    if not findings:
        return
    [finding] = findings
    levels = ["info", "warning", "critical"]
    baseline = 1 if {"dspdta-public", "dtaaut-public"} & set(finding.facts["issues"]) else 0
    raises = (finding.facts["sensitive_pattern"] is not None) + finding.facts["many_files"]
    assert finding.severity == levels[min(baseline + raises, 2)]


SETTING = st.one_of(DSPDTA, OPRCTL, AUTCHK, PUBLIC, UNKNOWN)


@st.composite
def queues_set_up_alike(draw) -> list[OutputQueue]:
    """Queues in a few libraries sharing a few combinations of settings (dspdta, oprctl, autchk, public)."""
    setups = draw(st.lists(st.tuples(SETTING, SETTING, SETTING, SETTING), min_size=1, max_size=3))
    queue = st.builds(
        lambda setup, library, name, files, text: outq(library, name, files, *setup, text=text),
        st.sampled_from(setups),
        st.sampled_from(["APPLIB", "PAYLIB", " APPLIB", "QGPL"]),
        st.text("PAYQR", min_size=1, max_size=4),
        st.one_of(st.none(), st.integers(0, 200)),
        st.sampled_from([None, "", "Payroll"]),
    )
    return draw(st.lists(queue, max_size=12))


@settings(max_examples=150, deadline=None)
@given(queues_set_up_alike(), st.booleans())
def test_queues_judged_together_get_the_findings_each_gets_alone(queues, report_oprctl_only):
    """Queues set up alike share one judgement per run: each still gets exactly the finding it gets alone."""
    options = {"report_oprctl_only": report_oprctl_only}
    alone = [finding for queue in queues for finding in run(queues=[queue], **options)]
    alone = [finding for finding in alone if finding.subject.startswith("outq:")]
    alone.sort(key=lambda f: tuple(part.strip().upper() for part in f.facts["queue"].split("/")))
    assert [finding for finding in run(queues=queues, **options) if finding.subject.startswith("outq:")] == alone


# --- the demo's story ----------------------------------------------------------------------------


def test_the_demo_system_tells_the_spool_story(tmp_path: Path):
    system = demo_settings(tmp_path / "demo")
    connection = open_system(system)
    try:
        holders = sql.read_special_authority_holders(connection, "*SPLCTL")
        queues = sql.read_output_queues(connection)
        jobctl = sql.read_special_authority_holders(connection, "*JOBCTL")
    finally:
        connection.close()
    findings = subjects(evaluate(system.name, holders, queues, jobctl, SplctlSettings()))

    holder_subjects = sorted(s for s in findings if s.startswith("holder:"))
    assert holder_subjects == ["holder:JSMITH", "holder:MLOPEZ", "holder:PRTADMIN"]  # OLDADMIN is disabled
    assert findings["holder:JSMITH"].title == "JSMITH holds *SPLCTL through group profile OPSGRP"
    assert findings["holder:MLOPEZ"].facts["groups"] == ["OPSGRP"]  # a supplemental group

    payroll = findings["outq:PAYLIB/PAYROLL"]
    assert payroll.severity == "critical"
    assert payroll.facts["issues"] == ["dspdta-public", "oprctl"] and payroll.facts["sensitive_pattern"] == "PAY*"
    assert "JSMITH (via OPSGRP), MLOPEZ (via OPSGRP), QSECOFR, QSYSOPR" in payroll.details[1]

    shared = findings["outq:QGPL/SHARED"]
    assert shared.severity == "warning" and shared.facts["issues"] == ["dspdta-public", "dtaaut-public"]
    assert "outq:HRLIB/HRREPORTS" not in findings  # DSPDTA(*OWNER), *PUBLIC *EXCLUDE
    assert findings["outq:QGPL/QPRINT"].severity == "warning"  # OPRCTL(*YES), 214 files
    assert "visibility" not in findings
