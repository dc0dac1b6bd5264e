"""The placement portal: students, jobs, applications, and an SMS for every decision."""
