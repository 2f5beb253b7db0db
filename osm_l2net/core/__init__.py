"""The pure core: descriptors → model → checks → topology → planner → plan, and the providers' manifests.

Nothing here does I/O, runs a process or reads the clock (import-linter's ``core-is-pure`` contract and
``tests/unit/test_architecture.py``); every adapter package beside this one imports it, never the reverse.
"""
