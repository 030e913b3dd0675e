"""What people see: Slack and Teams payloads, the status page, sample messages. Pure functions of the domain's
data; nothing here decides anything (the rules are in shared/domain) or does I/O."""
