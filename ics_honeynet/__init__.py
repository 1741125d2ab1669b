"""The ICS honeynet's Python package: command-line tools (``python -m ics_honeynet``).

Keep it import-light: importing the package imports only the standard library, and its modules
import nothing outside it but boto3/botocore (the Lambda functions will move here).
"""
