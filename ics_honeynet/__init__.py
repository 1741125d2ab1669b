"""The ICS honeynet's Python package: command-line tools (``python -m ics_honeynet``).

Keep it import-light: importing the package imports nothing but the standard library; a
command imports boto3 when it runs.
"""
