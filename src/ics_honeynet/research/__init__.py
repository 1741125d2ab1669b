"""The research report: does being on Shodan change the attacks a honeypot receives?

Conpot's JSON event records (model.ConpotEvent) are attributed to honeypot tenures (model.Tenure:
one ECS task holding one public IP), counted per hour, and compared before and after each
tenure's exposure milestones (first indexed, first fingerprinted), against honeypots not yet
indexed over the same hours (stats). report.run_report is the entry point; files reads a local
copy of the events; chart draws the hourly series; scenario generates synthetic traffic with a
known effect. Pure and typed: no AWS here (the caller reads S3 and DynamoDB).
"""
