"""Bulk enrolment from spreadsheets: read (reader), check every row (validate), then apply all or nothing."""
