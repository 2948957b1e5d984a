"""The states of a (rule, record) pair and of a finding, each defined once."""

# The four states both executors give every (rule, record); explain.build turns them into results and findings.
VIOLATION, COMPLIANT, NOT_APPLICABLE, INDETERMINATE = "violation", "compliant", "not_applicable", "indeterminate"
STATES = (VIOLATION, COMPLIANT, NOT_APPLICABLE, INDETERMINATE)  # columnar's state codes index this tuple
GAP = "gap"  # a record short of a target or aspirational provision: reported as a gap (差距), never a violation
STATUSES = (VIOLATION, GAP, INDETERMINATE, COMPLIANT, NOT_APPLICABLE)  # of a result, in the order reports count them
FINDING_STATUSES = (VIOLATION, GAP, INDETERMINATE)  # the results that are findings
