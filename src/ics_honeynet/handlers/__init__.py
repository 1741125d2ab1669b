"""The Lambda handlers: one module per function (``Handler: ics_honeynet.handlers.<name>.lambda_handler``).

Each is a thin adapter: parse the event, call the package's typed domain code, return JSON.
"""
