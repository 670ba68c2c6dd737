"""The checks, one package each (`bot/checks/<package>/`: its declaration, its pure rules, its runbook).

`registry` finds them, `sources` names what they read, `cycle` reads each source once per system and
lets every check judge the readings, `definition` says what a check declares.
"""
