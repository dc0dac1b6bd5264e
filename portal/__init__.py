"""The placement portal (students, jobs, applications); built in a later issue."""
