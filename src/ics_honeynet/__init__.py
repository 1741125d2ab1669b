"""The ICS honeynet's Python package: the sweep's four Lambda functions (``handlers/``) over typed
domain modules, what crosses the state machine's boundaries (``contracts``), and the command-line
tools (``python -m ics_honeynet``).

Keep this file empty of imports: every Lambda cold start imports it, and each handler should pay
only for the modules it uses.
"""
